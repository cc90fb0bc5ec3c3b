"""Two workers in one process share an outbox and a real SMTP sink: each reply leaves once.

A lease's holder names its worker, not only its process: a worker of this process whose
lease still runs is at work (the other must wait), while an earlier process that had our
pid (a restarted container's PID 1) is gone and its leases are taken at once.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from config.profile import load_profile
from config.settings import load_settings
from domain.decision import Claim, Decision, Reason, ReasonCode
from intake.worker import Worker
from ledger import leases
from ledger.db import connect, migrate
from ledger.models import Reply
from ledger.store import Store
from testkit.ledger import UNIT, outgoing_reply, seed
from testkit.mailstack import outbox_settings

PROFILE = load_profile("anhui-2025")
SEND = frozenset({"send"})


def queue_reply(store: Store, n: int) -> None:
    record, _ = store.record_message(
        mailbox="INBOX", uidvalidity=1, uid=n, message_id=f"<m{n}@school.example.cn>",
        sha256=hashlib.sha256(f"m{n}".encode()).hexdigest(), received_at=datetime.now(UTC) - timedelta(minutes=5),
        sender="jwc@school.example.cn", subject=f"{UNIT}+2025年证书申报", original_path="var/data/x.eml")
    store.record_decision(record.id, claim=Claim(unit=UNIT, year=2025, kind="summary"), forms=[],
                          decision=Decision.from_reasons([Reason(ReasonCode.ATTACHMENT_MISSING)]),
                          reply=outgoing_reply(n))


@pytest.fixture
def outbox(tmp_path, smtp_sink):
    settings = load_settings(outbox_settings(smtp_sink, tmp_path))
    engine = connect(settings.database_url)
    migrate(engine)
    seed(engine, units=1)
    yield settings, engine
    engine.dispose()


class StoreHandingOverSlowly(Store):
    """The first worker's door: between claiming the reply and its data reaching the SMTP
    server, the other worker looks at the outbox."""

    def __init__(self, engine, profile, other_looks):
        super().__init__(engine, profile)
        self.other_looks = other_looks

    def mark_reply_handed_over(self, reply_pk, at):
        super().mark_reply_handed_over(reply_pk, at)
        self.other_looks()


def test_a_worker_of_this_process_does_not_take_the_reply_another_is_sending(outbox, smtp_sink):
    settings, engine = outbox
    queue_reply(Store(engine, PROFILE), 1)
    second = Worker(settings, PROFILE, Store(engine, PROFILE))
    seen = []
    first = Worker(settings, PROFILE, StoreHandingOverSlowly(
        engine, PROFILE, lambda: seen.append(second.cycle(None, SEND).sent)))

    assert first.cycle(None, SEND).sent == 1
    assert seen == [0]  # the reply was leased by a worker at work: the second one waited
    assert [m["Message-ID"] for m in smtp_sink.messages()] == ["<reply1@office.example.cn>"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(Reply.status, Reply.attempts)).all() == [("sent", 1)]
    assert second.cycle(None, SEND).sent == 0  # nothing left, and nothing sent again


def test_two_workers_of_one_process_sending_at_once_send_each_reply_once(outbox, smtp_sink):
    settings, engine = outbox
    store = Store(engine, PROFILE)
    for n in range(1, 9):
        queue_reply(store, n)
    workers = [Worker(settings, PROFILE, Store(engine, PROFILE)) for _ in range(2)]
    assert workers[0].owner != workers[1].owner
    barrier = threading.Barrier(len(workers))
    sent = []

    def send(worker: Worker) -> None:
        barrier.wait()
        for _ in range(3):
            sent.append(worker.cycle(None, SEND).sent)

    threads = [threading.Thread(target=send, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ids = sorted(m["Message-ID"] for m in smtp_sink.messages())
    assert ids == sorted(f"<reply{n}@office.example.cn>" for n in range(1, 9)) and sum(sent) == 8


def test_which_holders_of_this_host_are_gone():
    me, other = leases.new_holder(), leases.new_holder()
    host, pid, _ = me.split(":")
    assert me != other and other.startswith(f"{host}:{pid}:")
    assert leases.holder_gone(me, me)  # an unfinished attempt of this very worker
    assert not leases.holder_gone(other, me)  # another worker of this process: wait its lease out
    assert leases.holder_gone(f"{host}:{pid}:0ld0ld00", me)  # an earlier process with our pid
    assert leases.holder_gone(f"{host}:{pid}:0ld0ld00.1234abcd", me)
