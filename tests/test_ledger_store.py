"""The worker's store: message states, decisions, outbox, filing — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from domain.decision import Claim, Decision, Outcome, Reason, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine, SummaryForm, SummaryLine
from ledger.models import Event, QuotaChange, Reply, Submission, SubmissionLine
from ledger.store import (
    StaleDecision,
    StoreError,
    reason_from_json,
    reason_to_json,
)
from testkit.ledger import BIM, ROBOT, SHANGHAI, SUMMARY, T0, UNIT
from testkit.ledger import outgoing_reply as _reply
from testkit.ledger import store_message as _store_message


def _summary(*lines: tuple[str, str, int], stamp: bool = True) -> SummaryForm:
    rows = tuple(SummaryLine(row=i + 1, certificate=c, level=lv, count=n) for i, (c, lv, n) in enumerate(lines))
    return SummaryForm(unit=UNIT, stamp=stamp, total=sum(n for *_, n in lines), lines=rows)


def _increase(*lines: tuple[str, str, int, int]) -> IncreaseForm:
    rows = tuple(IncreaseLine(row=i + 1, certificate=c, level=lv, approved=a, requested=r)
                 for i, (c, lv, a, r) in enumerate(lines))
    return IncreaseForm(unit=UNIT, stamp=True, lines=rows)


def _count(engine, model, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


INCREASE = Claim(unit=UNIT, year=2025, kind="increase")
ACCEPTED = Decision(Outcome.ACCEPTED)


def test_a_message_is_recorded_once_whatever_the_way_it_comes_back(store):
    first, created = _store_message(store, 7)
    assert created and first.state == "stored" and first.attempts == 0
    assert first.received_at == T0  # aware, same instant

    again, created = _store_message(store, 7)  # the same UID: fetched twice
    assert (again.id, created) == (first.id, False)
    copy, created = _store_message(store, 3, mailbox="垃圾邮件", body=b"message 7")  # same bytes elsewhere
    assert (copy.id, created) == (first.id, False)
    resent, created = _store_message(store, 8, body=b"other bytes", message_id="<m7@school.example.cn>")
    assert (resent.id, created) == (first.id, False)
    other, created = _store_message(store, 9)
    assert created and other.id != first.id

    assert store.known_uids("INBOX", 1) == {7, 8, 9}
    assert store.known_uids("垃圾邮件", 1) == {3}
    assert store.known_uids("INBOX", 2) == set()  # a new UIDVALIDITY knows nothing


def test_pending_lists_stored_messages_oldest_first(store):
    late, _ = _store_message(store, 1, at=T0 + timedelta(hours=2))
    early, _ = _store_message(store, 2, at=T0)
    done, _ = _store_message(store, 3, at=T0 - timedelta(hours=1))
    store.record_decision(done.id, claim=None, forms=[], decision=None, reply=None, note="auto-reply")
    assert [m.id for m in store.pending()] == [early.id, late.id]
    assert [m.id for m in store.pending(limit=1)] == [early.id]


def test_failures_are_counted_and_logged(store, ledger_engine):
    message, _ = _store_message(store, 1)
    assert store.record_failure(message.id, "tesseract timed out") == 1
    assert store.record_failure(message.id, "tesseract timed out") == 2
    assert store.message(message.id).attempts == 2
    assert store.message(message.id).state == "stored"
    assert _count(ledger_engine, Event, Event.action == "message.failed") == 2
    with pytest.raises(StoreError, match="no message with id 999"):
        store.record_failure(999, "x")


def test_a_decision_writes_submission_lines_and_reply_together_once(store, ledger_engine):
    message, _ = _store_message(store, 1)
    form = _summary((BIM, "初级", 20), (ROBOT, "中级", 5))
    for _ in range(2):  # the second call is a no-op
        store.record_decision(message.id, claim=SUMMARY, forms=[form], decision=ACCEPTED, reply=_reply(1))
    assert store.message(message.id).state == "decided"
    assert _count(ledger_engine, Submission) == 1
    assert _count(ledger_engine, Reply) == 1
    with ledger_engine.connect() as conn:
        sub = conn.execute(sa.select(Submission)).one()
        lines = conn.execute(sa.select(SubmissionLine.row, SubmissionLine.certificate, SubmissionLine.level,
                                       SubmissionLine.count).order_by(SubmissionLine.position)).all()
    assert (sub.unit, sub.kind, sub.decision, sub.stamp, sub.total) == (UNIT, "summary", "accepted", True, 25)
    assert (sub.window_start.isoformat(), sub.window_end.isoformat()) == ("2025-03-14", "2025-04-10")
    assert [tuple(line) for line in lines] == [(1, BIM, "初级", 20), (2, ROBOT, "中级", 5)]


def test_reasons_survive_the_round_trip(store, ledger_engine):
    reason = Reason(ReasonCode.FORM_TOTAL_MISMATCH, detail="合计与各行之和不符", row=None, column="合计",
                    value="30", expected="25", attachment="汇总表.pdf", page=1)
    message, _ = _store_message(store, 1)
    store.record_decision(message.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 25))],
                          decision=Decision.from_reasons([reason]), reply=_reply(1))
    with ledger_engine.connect() as conn:
        stored = conn.execute(sa.select(Submission.reasons)).scalar_one()
    assert [reason_from_json(r) for r in stored] == [reason]
    assert reason_to_json(reason)["code"] == "form.total_mismatch"


def test_a_claim_for_a_unit_outside_the_units_list_is_refused(store):
    message, _ = _store_message(store, 1)
    with pytest.raises(StoreError, match="not in the units list"):
        store.record_decision(message.id, claim=Claim(unit="不存在学院", year=2025, kind="summary"), forms=[],
                              decision=ACCEPTED, reply=None)
    assert store.message(message.id).state == "stored"  # nothing written


def test_outbox_retries_then_sends_then_files(store):
    message, _ = _store_message(store, 1)
    store.record_decision(message.id, claim=SUMMARY, forms=[], decision=Decision.from_reasons(
        [Reason(ReasonCode.ATTACHMENT_MISSING)]), reply=_reply(1))
    now = datetime.now(UTC) + timedelta(seconds=1)  # queued replies are due at once
    [queued] = store.queued_replies(now)
    assert (queued.message_pk, queued.status, queued.attempts) == (message.id, "queued", 0)
    assert queued.raw == _reply(1).raw
    assert store.unfiled() == []  # a reply is still due

    store.mark_reply_failed(queued.id, "SMTP 421 try later", retry_at=now + timedelta(minutes=5))
    assert store.queued_replies(now) == []
    [retry] = store.queued_replies(now + timedelta(minutes=5))
    assert retry.attempts == 1

    store.mark_reply_sent(retry.id, now + timedelta(minutes=5))
    store.mark_reply_sent(retry.id, now + timedelta(minutes=6))  # a repeated mark changes nothing
    assert store.queued_replies(now + timedelta(days=1)) == []
    assert store.message(message.id).state == "replied"
    [(record, outcome)] = store.unfiled()
    assert (record.id, outcome) == (message.id, "rejected")

    store.mark_filed(message.id, "已处理/退回")
    assert store.unfiled() == []
    assert store.message(message.id).state == "filed"


def test_ignored_mail_is_filed_without_reply(store, ledger_engine):
    message, _ = _store_message(store, 1)
    store.record_decision(message.id, claim=None, forms=[], decision=None, reply=None, note="自动回复邮件")
    assert [(r.id, o) for r, o in store.unfiled()] == [(message.id, "ignored")]
    assert _count(ledger_engine, Submission) == 0 and _count(ledger_engine, Reply) == 0


def test_an_accepted_increase_raises_the_quota_with_an_audit_trail(store, ledger_engine):
    message, _ = _store_message(store, 1)
    store.record_decision(message.id, claim=INCREASE, forms=[_increase((BIM, "初级", 30, 45))],
                          decision=ACCEPTED, reply=_reply(1))
    assert store.snapshot().quotas[(2025, UNIT, BIM, "初级")] == 45
    assert store.snapshot().quotas[(2025, UNIT, ROBOT, "中级")] == 10  # untouched
    with ledger_engine.connect() as conn:
        change = conn.execute(sa.select(QuotaChange)).one()
        event = conn.execute(sa.select(Event).where(Event.action == "quota.increased")).one()
    assert (change.old_approved, change.new_approved, change.cause) == (30, 45, "increase")
    assert event.detail["old"] == 30 and event.detail["new"] == 45 and event.detail["message"] == message.id

    # A later increase must quote the new number: quoting the old one is stale.
    late, _ = _store_message(store, 2)
    with pytest.raises(StaleDecision, match="is 45"):
        store.record_decision(late.id, claim=INCREASE, forms=[_increase((BIM, "初级", 30, 50))],
                              decision=ACCEPTED, reply=_reply(2))
    assert store.message(late.id).state == "stored"  # nothing of it was written
    assert _count(ledger_engine, Reply) == 1
    assert store.snapshot().quotas[(2025, UNIT, BIM, "初级")] == 45


def test_a_rejected_increase_changes_no_quota(store, ledger_engine):
    message, _ = _store_message(store, 1)
    store.record_decision(message.id, claim=INCREASE, forms=[_increase((BIM, "初级", 29, 45))],
                          decision=Decision.from_reasons([Reason(ReasonCode.QUOTA_ORIGINAL_MISMATCH, row=1)]),
                          reply=_reply(1))
    assert store.snapshot().quotas[(2025, UNIT, BIM, "初级")] == 30
    assert _count(ledger_engine, QuotaChange) == 0


def _superseded(engine) -> dict[int, int | None]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(Submission.message_pk, Submission.superseded_by_id)).all())


def _submission_of(engine, message_pk: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(Submission.id).where(Submission.message_pk == message_pk)).scalar_one()


def test_a_newer_summary_supersedes_the_older_in_the_same_window(store, ledger_engine):
    first, _ = _store_message(store, 1, at=T0)
    second, _ = _store_message(store, 2, at=T0 + timedelta(days=1))
    september, _ = _store_message(store, 3, at=datetime(2025, 9, 16, 10, tzinfo=SHANGHAI))
    rejected, _ = _store_message(store, 4, at=T0 + timedelta(days=2))
    assert store.current_summary(UNIT, 2025, T0) is None
    store.record_decision(first.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 20))], decision=ACCEPTED,
                          reply=_reply(1))
    current = store.current_summary(UNIT, 2025, second.received_at)
    assert (current.message_pk, current.message_id, current.total) == (first.id, "<m1@school.example.cn>", 20)

    store.record_decision(second.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 25))], decision=ACCEPTED,
                          reply=_reply(2))
    store.record_decision(september.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 5))], decision=ACCEPTED,
                          reply=_reply(3))
    store.record_decision(rejected.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 25), stamp=False)],
                          decision=Decision.from_reasons([Reason(ReasonCode.FORM_STAMP_MISSING)]), reply=_reply(4))
    assert _superseded(ledger_engine) == {
        first.id: _submission_of(ledger_engine, second.id),  # superseded, kept
        second.id: None,  # current in the spring window
        september.id: None,  # another window: not superseded
        rejected.id: None,  # a rejected summary supersedes nothing
    }
    assert store.current_summary(UNIT, 2025, rejected.received_at).message_pk == second.id


def test_an_older_summary_decided_late_does_not_supersede_a_newer_one(store, ledger_engine):
    newer, _ = _store_message(store, 1, at=T0 + timedelta(hours=3))
    older, _ = _store_message(store, 2, at=T0)
    store.record_decision(newer.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 25))], decision=ACCEPTED,
                          reply=_reply(1))
    store.record_decision(older.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 20))], decision=ACCEPTED,
                          reply=_reply(2))
    assert _superseded(ledger_engine) == {newer.id: None, older.id: _submission_of(ledger_engine, newer.id)}


def test_snapshot_carries_units_catalogue_and_quotas(store):
    state = store.snapshot()
    unit = state.unit(UNIT)
    assert unit is not None and unit.city == "合肥市" and unit.type == "本科"
    assert unit.contacts and all("@" in c for c in unit.contacts)
    assert state.certificate(BIM).levels == frozenset({"初级", "中级", "高级"})
    assert state.certificate("Web前端开发").levels == frozenset()  # the catalogue does not say
    assert dict(state.quotas) == {(2025, UNIT, BIM, "初级"): 30, (2025, UNIT, ROBOT, "中级"): 10}


def test_log_event_appends_to_the_audit_trail(store, ledger_engine):
    store.log_event("staff:王老师", "submission.reviewed", "submission:1", {"decision": "accepted"})
    with ledger_engine.connect() as conn:
        row = conn.execute(sa.select(Event).where(Event.actor == "staff:王老师")).one()
    assert row.detail == {"decision": "accepted"} and row.at.tzinfo is not None


def test_a_permanently_refused_reply_stops_retrying_and_the_mail_is_filed(store, ledger_engine):
    message, _ = _store_message(store, 1)
    store.record_decision(message.id, claim=SUMMARY, forms=[_summary((BIM, "初级", 20))], decision=ACCEPTED,
                          reply=_reply(1))
    now = datetime.now(UTC) + timedelta(seconds=1)
    [queued] = store.queued_replies(now)
    store.mark_reply_failed(queued.id, "550 mailbox unavailable", retry_at=None)
    store.mark_reply_failed(queued.id, "550 again", retry_at=now)  # no effect once refused for good
    assert store.queued_replies(now + timedelta(days=30)) == []
    with ledger_engine.connect() as conn:
        assert conn.execute(sa.select(Reply.status, Reply.attempts)).one() == ("failed", 1)
    assert [(r.id, o) for r, o in store.unfiled()] == [(message.id, "accepted")]
    assert store.message(message.id).state == "decided"  # never marked replied


def test_a_staff_decision_raises_the_quota_in_its_own_transaction_and_names_the_staff(store, ledger_engine):
    from sqlalchemy.orm import Session

    message, _ = _store_message(store, 1)
    form = _increase((ROBOT, "中级", 10, 16))
    store.record_decision(message.id, claim=INCREASE, forms=[form], reply=None,
                          decision=Decision.from_reasons([Reason(ReasonCode.OCR_LOW_CONFIDENCE, row=1)]))
    assert store.snapshot().quotas[(2025, UNIT, ROBOT, "中级")] == 10  # review: nothing applied yet
    with Session(ledger_engine) as s, s.begin():
        submission = s.execute(sa.select(Submission)).scalar_one()
        store.apply_increase(s, INCREASE, submission, form, datetime.now(UTC), actor="staff:王老师")
    assert store.snapshot().quotas[(2025, UNIT, ROBOT, "中级")] == 16
    with ledger_engine.connect() as conn:
        assert conn.execute(sa.select(QuotaChange.actor)).scalar_one() == "staff:王老师"
        assert conn.execute(sa.select(Event.actor).where(Event.action == "quota.increased")).scalar_one() == \
            "staff:王老师"
