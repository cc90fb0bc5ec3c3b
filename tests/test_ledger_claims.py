"""Processing claims: several workers never take the same stored message."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from domain.decision import Decision, Reason, ReasonCode
from ledger import leases
from ledger.models import Event
from ledger.store import Store
from testkit.ledger import SUMMARY, T0
from testkit.ledger import outgoing_reply as _reply
from testkit.ledger import store_message as _store_message

LEASE = timedelta(minutes=15)


def test_two_workers_claim_different_messages_and_leases_expire(store: Store):
    first, _ = _store_message(store, 1)
    second, _ = _store_message(store, 2, at=T0 + timedelta(minutes=1))
    a = store.claim("worker-a", LEASE, T0)
    b = store.claim("worker-b", LEASE, T0)
    assert {a.id, b.id} == {first.id, second.id}
    assert store.claim("worker-c", LEASE, T0) is None
    # worker-a died: once its lease has run out, the message is taken again.
    again = store.claim("worker-c", LEASE, T0 + LEASE)
    assert again.id == a.id


def test_a_failed_message_waits_for_its_retry_time(store: Store):
    record, _ = _store_message(store, 1)
    claimed = store.claim("w", LEASE, T0)
    store.record_failure(claimed.id, "boom", T0 + timedelta(minutes=2))
    assert store.claim("w", LEASE, T0 + timedelta(minutes=1)) is None
    assert store.claim("w", LEASE, T0 + timedelta(minutes=2)).id == record.id


def test_concurrent_claims_hand_out_each_message_once(store: Store):
    for uid in range(1, 21):
        _store_message(store, uid, at=T0 + timedelta(seconds=uid))
    taken: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (record := store.claim(name, LEASE, T0 + timedelta(minutes=1))) is not None:
            with lock:
                taken.append(record.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 20


# --- holders that are gone ------------------------------------------------------------

def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_holder_is_gone_when_its_process_on_this_host_no_longer_runs():
    me = leases.new_holder()
    host, pid, _ = me.split(":")
    assert leases.holder_gone(me, me)  # an unfinished attempt of this very process
    assert leases.holder_gone(f"{host}:{pid}:0ld0ld00", me)  # an earlier process with our pid (container)
    assert leases.holder_gone(f"{host}:{_dead_pid()}:abcd0123", me)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        try:
            assert not leases.holder_gone(f"{host}:{alive.pid}:abcd0123", me)
        finally:
            alive.kill()
    assert not leases.holder_gone(f"other-host:{_dead_pid()}:abcd0123", me)  # cannot tell: wait it out
    assert not leases.holder_gone("worker-a", me)


def test_a_message_held_by_a_dead_worker_on_this_host_is_taken_at_once(store: Store):
    first, _ = _store_message(store, 1)
    host = leases.new_holder().split(":")[0]
    assert store.claim(f"{host}:{_dead_pid()}:abcd0123", LEASE, T0).id == first.id
    assert store.claim(f"other-host:{os.getpid()}:abcd0123", LEASE, T0) is None  # lease still running
    assert store.claim(leases.new_holder(), LEASE, T0).id == first.id  # no need to wait for the lease


# --- the outbox -----------------------------------------------------------------------

def _queued_reply(store: Store, uid: int) -> int:
    message, _ = _store_message(store, uid)
    store.record_decision(message.id, claim=SUMMARY, forms=[], decision=Decision.from_reasons(
        [Reason(ReasonCode.ATTACHMENT_MISSING)]), reply=_reply(uid))
    return message.id


def test_two_senders_never_hold_the_same_reply(store: Store):
    _queued_reply(store, 1)
    _queued_reply(store, 2)
    now = datetime.now(UTC) + timedelta(seconds=1)
    a = store.claim_reply("sender-a", LEASE, now)
    b = store.claim_reply("sender-b", LEASE, now)
    assert a.id != b.id
    assert store.claim_reply("sender-c", LEASE, now) is None
    store.mark_reply_sent(a.id, now)
    assert store.claim_reply("sender-c", LEASE, now + LEASE).id == b.id  # b's sender died


def test_a_reply_whose_sender_died_during_data_is_sent_again_and_the_doubt_recorded(store: Store):
    message_pk = _queued_reply(store, 1)
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = store.claim_reply("sender-a", LEASE, now)
    store.mark_reply_handed_over(first.id, now)
    again = store.claim_reply("sender-b", LEASE, now + LEASE)
    assert (again.id, again.raw) == (first.id, first.raw)  # the same bytes, the same Message-ID
    doubts = _events(store, "reply.outcome_unknown")
    assert [d["reply_message_id"] for d in doubts] == [first.reply_message_id]
    store.mark_reply_sent(again.id, now + LEASE)
    assert store.message(message_pk).state == "replied"
    assert len(_events(store, "reply.outcome_unknown")) == 1


def test_a_reply_whose_sender_died_before_data_is_sent_again_without_doubt(store: Store):
    _queued_reply(store, 1)
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = store.claim_reply("sender-a", LEASE, now)
    store.mark_reply_failed(first.id, "SMTP 421", retry_at=now)
    assert store.claim_reply("sender-b", LEASE, now).id == first.id
    assert _events(store, "reply.outcome_unknown") == []


def _events(store: Store, action: str) -> list[dict]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(Event.detail).where(Event.action == action)).scalars())
