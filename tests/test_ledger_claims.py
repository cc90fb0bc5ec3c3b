"""Processing claims: several workers never take the same stored message."""

from __future__ import annotations

import threading
from datetime import timedelta

from ledger.store import Store
from tests.test_ledger_store import T0, _store_message, store  # noqa: F401 (fixture)

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
