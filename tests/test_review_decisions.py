"""Staff corrections, decisions and the pages on SQLite and PostgreSQL: two staff members deciding
the same submission at once produce one decision, one quota change and one follow-up reply."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from ledger.models import Event, QuotaChange, Reply, Submission
from review import queries
from review.decisions import CellChange, ReviewError, correct, decide
from testkit.review import NOW, ReviewWorld, build_world, client_for, login


@pytest.fixture
def world(ledger_url, tmp_path) -> ReviewWorld:
    """The review world on SQLite, then on PostgreSQL."""
    built = build_world(ledger_url, tmp_path)
    yield built
    built.engine.dispose()


def test_simultaneous_decisions_queue_exactly_one_follow_up(world):
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
                   from_addr="ahxzsbg@126.com", data_dir=world.settings.data_dir, now=NOW)
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

    # The pages' queries read the decision back the same way on both databases.
    board = queries.dashboard(world.engine, profile, NOW)
    assert board.by_decision == {"accepted": 1}
    assert [u.unit for u in board.missing if u.unit == world.unit] == [world.unit]  # an increase is no summary
    listed = queries.list_submissions(world.engine, profile, queries.Filters(decision="accepted", unit=world.unit[:2]))
    assert [r.id for r in listed.rows] == [world.submission_id]
    (quota,) = queries.quotas(world.engine, world.unit, only_changed=True)
    assert (quota.approved, [c.actor for c in quota.changes]) == (world.requested, decided)


def test_a_summary_with_an_unsure_unit_name_is_corrected_and_accepted(world):
    from datetime import timedelta
    from email.message import EmailMessage

    from domain.decision import Claim, Decision
    from domain.forms import SummaryForm, SummaryLine
    from domain.rules import check_form
    from intake import originals
    from testkit.review import ARRIVED

    profile, state = world.store.profile, world.store.snapshot()
    # The reader was unsure of the name, and what it read is another registered unit's.
    misread = next(u.name for u in state.units if u.name != world.unit)
    form = SummaryForm(unit=misread, stamp=True, total=30, unit_confident=False, lines=(
        SummaryLine(row=1, certificate=world.certificate, level="中级", count=30),))
    claim = Claim(unit=world.unit, year=2025, kind="summary")
    reasons = check_form(form, claim, state, attachment="汇总表.pdf", page=1)
    assert [str(r.code) for r in reasons] == ["ocr.low_confidence"]
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = world.contact, f"{world.unit}+2025年证书申报", "<s1@school.example.cn>"
    msg.set_content("汇总表")
    sha, path = originals.keep(world.settings.data_dir, bytes(msg))
    record, _ = world.store.record_message(mailbox="INBOX", uidvalidity=1, uid=2, message_id="<s1@school.example.cn>",
                                           sha256=sha, received_at=ARRIVED + timedelta(hours=1), sender=world.contact,
                                           subject=msg["Subject"], original_path=str(path))
    world.store.record_decision(record.id, claim=claim, forms=[form], decision=Decision.from_reasons(reasons),
                                reply=None)
    with world.engine.connect() as conn:
        summary_id = conn.execute(sa.select(Submission.id).where(Submission.kind == "summary")).scalar_one()

    # Accepting as read is refused: the unit on the form is not the unit of the subject.
    with pytest.raises(ReviewError, match="表内单位与主题不符"):
        decide(world.engine, profile, summary_id, "accepted", staff="王老师", note="", from_addr="a@b.cn",
               data_dir=world.settings.data_dir, now=NOW)
    after = correct(world.engine, profile, summary_id, [CellChange(None, "unit", world.unit)], staff="王老师",
                    state=state)
    assert after == []
    decide(world.engine, profile, summary_id, "accepted", staff="王老师", note="", from_addr="a@b.cn",
           data_dir=world.settings.data_dir, now=NOW)
    board = queries.dashboard(world.engine, profile, NOW)
    assert world.unit not in [m.unit for m in board.missing]
    assert len(board.missing) == len(state.units) - 1



def test_every_page_renders_on_both_databases(world):
    client = client_for(world)
    assert login(client).status_code == 303
    for path in ("/", "/submissions?decision=review&unit=" + world.unit[:2], f"/submissions/{world.submission_id}",
                 "/quotas", "/exports", "/exports/ledger.json"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert world.unit in client.get("/submissions?decision=review").text
