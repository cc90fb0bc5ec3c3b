"""Several workers deciding increases for the same quota at once: no lost update.

Each thread is a worker with its own connection, doing what the worker does: take a
snapshot, decide with the real rules, record; on ``StaleDecision`` decide again.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from domain.decision import Claim, Decision, Outcome, ReasonCode
from domain.forms import IncreaseForm, IncreaseLine
from domain.rules import reconcile
from ledger.models import QuotaChange
from ledger.store import StaleDecision, Store
from testkit.ledger import anhui_schools, seed

UNIT = anhui_schools(1)[0]["name"]
CERT, LEVEL = "工业机器人应用编程", "中级"
KEY = (2025, UNIT, CERT, LEVEL)
CLAIM = Claim(unit=UNIT, year=2025, kind="increase")
T0 = datetime(2025, 3, 20, 1, 0, tzinfo=UTC)


def _message(store: Store, n: int) -> int:
    record, _ = store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=n, message_id=f"<inc{n}@school.example.cn>",
        sha256=hashlib.sha256(b"increase %d" % n).hexdigest(), received_at=T0 + timedelta(minutes=n),
        sender="jwc@school.example.cn", subject=f"{UNIT}+2025年证书指标调增申请", original_path=f"{n}.eml")
    return record.id


def _form(approved: int, requested: int) -> IncreaseForm:
    line = IncreaseLine(row=1, certificate=CERT, level=LEVEL, approved=approved, requested=requested)
    return IncreaseForm(unit=UNIT, stamp=True, lines=(line,))


def _decide_and_record(store: Store, message_pk: int, make_form) -> tuple[Decision, int]:
    """The worker's loop; ``make_form(state)`` gives the form (fixed, or quoting the snapshot)."""
    for retries in range(100):
        state = store.snapshot()
        form = make_form(state)
        decision = reconcile([(form, "调增申请表.pdf", 1)], CLAIM, state)
        try:
            store.record_decision(message_pk, claim=CLAIM, forms=[form], decision=decision, reply=None)
            return decision, retries
        except StaleDecision:
            continue
    raise AssertionError("no progress after 100 attempts")


def _changes(engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(QuotaChange.old_approved, QuotaChange.new_approved).order_by(QuotaChange.id))]


def test_same_quoted_number_only_one_increase_wins(ledger_engine):
    seed(ledger_engine, quotas={KEY: 10})
    stores = [Store(ledger_engine) for _ in range(4)]
    messages = [_message(stores[0], n) for n in range(4)]
    barrier = threading.Barrier(4)

    def worker(i: int) -> Decision:
        barrier.wait()
        decision, _ = _decide_and_record(stores[i], messages[i], lambda _state: _form(10, 11 + i))
        return decision

    with ThreadPoolExecutor(4) as pool:
        decisions = list(pool.map(worker, range(4)))

    winners = [i for i, d in enumerate(decisions) if d.outcome == Outcome.ACCEPTED]
    assert len(winners) == 1
    for i, decision in enumerate(decisions):
        if i not in winners:
            assert ReasonCode.QUOTA_ORIGINAL_MISMATCH in {r.code for r in decision.reasons}
    assert stores[0].snapshot().quotas[KEY] == 11 + winners[0]
    assert _changes(ledger_engine) == [(10, 11 + winners[0])]


def test_racing_increases_lose_no_update(ledger_engine):
    seed(ledger_engine, quotas={KEY: 10})
    workers, rounds = 4, 5
    stores = [Store(ledger_engine) for _ in range(workers)]
    messages = [[_message(stores[0], 100 * w + r) for r in range(rounds)] for w in range(workers)]
    barrier = threading.Barrier(workers)

    def worker(w: int) -> int:
        barrier.wait()
        retries = 0
        for message_pk in messages[w]:
            # Each form quotes the number the worker just read and asks for one more.
            decision, n = _decide_and_record(stores[w], message_pk, lambda s: _form(s.quotas[KEY], s.quotas[KEY] + 1))
            assert decision.outcome == Outcome.ACCEPTED
            retries += n
        return retries

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, range(workers)))

    changes = _changes(ledger_engine)
    assert stores[0].snapshot().quotas[KEY] == 10 + workers * rounds
    assert len(changes) == workers * rounds
    assert changes == [(10 + i, 11 + i) for i in range(workers * rounds)]  # an unbroken chain


def test_the_same_mail_fetched_by_racing_fetchers_is_stored_once(ledger_engine):
    stores = [Store(ledger_engine) for _ in range(4)]
    barrier = threading.Barrier(4)

    def fetch(i: int):
        barrier.wait()
        # The same bytes seen in four folders at once (e.g. INBOX and a spam folder, two fetchers).
        return stores[i].record_message(
            mailbox=f"folder{i}", uidvalidity=1, uid=1, message_id="<same@school.example.cn>",
            sha256=hashlib.sha256(b"same").hexdigest(), received_at=T0, sender="jwc@school.example.cn",
            subject="s", original_path="same.eml")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fetch, range(4)))
    assert sum(created for _, created in results) == 1
    assert len({record.id for record, _ in results}) == 1
    assert all(stores[0].known_uids(f"folder{i}", 1) == {1} for i in range(4))
