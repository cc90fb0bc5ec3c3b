"""Staff decisions on both databases: two staff members deciding the same submission at the
same moment produce one decision, one quota change and one follow-up reply."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from ledger.models import Event, QuotaChange, Reply, Submission
from ledger.web.review import CellChange, ReviewError, correct, decide
from tests.test_review_app import NOW, build_world


def test_simultaneous_decisions_queue_exactly_one_follow_up(ledger_url, tmp_path):
    world = build_world(ledger_url, tmp_path)
    profile = world.store.profile
    with world.engine.connect() as conn:
        line_id = conn.execute(sa.text("SELECT id FROM submission_lines")).scalar_one()
    reasons = correct(world.engine, profile, world.submission_id,
                      [CellChange(line_id, "requested", str(world.requested))], staff="王老师",
                      state=world.store.snapshot())
    assert reasons == []  # the corrected line passes every rule

    start, outcomes = threading.Barrier(2), []

    def staff_member(name: str) -> None:
        start.wait()
        try:
            decide(world.engine, profile, world.submission_id, "accepted", staff=name, note="",
                   from_addr="ahxzsbg@126.com", now=NOW)
            outcomes.append("decided")
        except ReviewError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=staff_member, args=(n,)) for n in ("王老师", "李老师")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("decided") == 1, outcomes
    (refusal,) = [o for o in outcomes if o != "decided"]
    assert "不能重复决定" in refusal or "刚刚已由其他工作人员" in refusal
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Reply).where(Reply.status == "queued")).scalar_one() == 1
        changes = conn.execute(sa.select(QuotaChange.old_approved, QuotaChange.new_approved, QuotaChange.actor)).all()
        decided = conn.execute(sa.select(Event.actor).where(Event.action == "staff.decided")).scalars().all()
        assert conn.execute(sa.select(Submission.decision)).scalar_one() == "accepted"
    assert world.quota() == world.requested
    assert len(decided) == 1 and [(old, new) for old, new, _ in changes] == [(world.approved, world.requested)]
    assert changes[0][2] == decided[0]  # the quota history names the staff member who decided
    world.engine.dispose()
