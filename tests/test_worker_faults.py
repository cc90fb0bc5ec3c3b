"""The worker against failing servers: Dovecot restarts, a crash between decision and send."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from config.profile import load_profile
from config.settings import load_settings
from intake.worker import Worker
from ledger import db
from ledger.store import Store
from testkit.mailstack import SmtpSink
from testkit.postgres import running_postgres
from testkit.world import (
    IN_WINDOW,
    INTAKE,
    UNIT,
    load_world,
    run_intake,
    submission,
)


def wait_until(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def worker_thread(env: dict[str, str]) -> Iterator[Worker]:
    """``Worker.run_forever`` in a thread, polling every half second; stopped on exit."""
    settings = load_settings({**env, "INTAKE_POLL_INTERVAL": "0.5"})
    profile = load_profile(settings.profile)
    engine = db.connect(settings.database_url)
    db.migrate(engine)
    worker = Worker(settings, profile, Store(engine, profile))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the worker did not stop when asked"


@pytest.fixture
def running_worker(world):
    with worker_thread(world) as worker:
        yield worker


def test_worker_recovers_when_dovecot_restarts(running_worker, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    wait_until(lambda: len(smtp_sink.received) == 1, what="the first reply")

    dovecot.restart()
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    wait_until(lambda: len(smtp_sink.received) == 2, what="the reply after the restart")
    wait_until(lambda: len(dovecot.messages("已处理/退回")) == 2, what="both mails filed")
    assert dovecot.messages("INBOX") == []


class SilentSmtp:
    """Accepts TCP connections and never answers: a send hangs until its timeout."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.connected = threading.Event()
        self.closing = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.conns.append(conn)
            self.connected.set()

    def close(self) -> None:
        self.closing.set()
        self.thread.join()  # the listening socket is released only once accept() returned
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_killed_between_decision_and_send_replies_exactly_once(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    # The worker decides, queues the reply, then hangs talking to a silent SMTP server: kill it there.
    smtp_sink.stop()
    silent = SilentSmtp(smtp_sink.port)
    env = {**os.environ, **world, "INTAKE_SMTP_TIMEOUT": "60"}
    proc = subprocess.Popen([INTAKE, "run", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert silent.connected.wait(60), "the worker never tried to send"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        silent.close()
    assert dovecot.messages("已处理/退回") == []  # not filed: the reply never went out

    sink = SmtpSink(port=smtp_sink.port)
    sink.start()
    try:
        for _ in range(2):
            done = run_intake(world, "run", "--once")
            assert done.returncode == 0, done.stderr
        assert len(sink.received) == 1
        assert sink.messages()[0]["X-Intake-Reasons"] == "attachment.missing"
        assert len(dovecot.messages("已处理/退回")) == 1
    finally:
        sink.stop()


def test_roles_split_the_pipeline_between_processes(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    for role in ("fetch", "send", "process"):
        done = run_intake(world, "run", "--once", "--role", role)
        assert done.returncode == 0, done.stderr
    assert smtp_sink.received == []  # send ran before anything was decided
    for role in ("send", "fetch"):
        assert run_intake(world, "run", "--once", "--role", role).returncode == 0
    assert len(smtp_sink.received) == 1
    assert len(dovecot.messages("已处理/退回")) == 1


def test_several_processing_workers_answer_each_mail_once_and_stop_cleanly(world, dovecot, smtp_sink):
    env = {**os.environ, **world, "INTAKE_POLL_INTERVAL": "0.5"}
    proc = subprocess.Popen([INTAKE, "run", "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(4):
            dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
        wait_until(lambda: len(smtp_sink.received) == 4, timeout=90, what="four replies")
        wait_until(lambda: len(dovecot.messages("已处理/退回")) == 4, what="four mails filed")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len({m["In-Reply-To"] for m in smtp_sink.messages()}) == 4


def test_a_mail_that_keeps_crashing_goes_to_staff_with_one_reply(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    settings = load_settings({**world, "INTAKE_RETRY_BASE": "0"})
    profile = load_profile(settings.profile)
    engine = db.connect(settings.database_url)
    calls = []

    def crashing_process(*args, **kwargs):  # the worker's processing extension point
        calls.append(1)
        raise MemoryError("simulated: the reader ran out of memory")

    worker = Worker(settings, profile, Store(engine, profile), process_fn=crashing_process)
    summary = worker.run_once()
    assert len(calls) == 3 and summary.decided["quarantined"] == 1
    (reply,) = smtp_sink.messages()
    assert reply["X-Intake-Decision"] == "review"
    assert "人工审核" in reply.get_content()
    assert len(dovecot.messages("待审核")) == 1
    worker.run_once()
    assert len(smtp_sink.received) == 1


def test_uidvalidity_change_neither_repeats_nor_loses_mail(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    smtp_sink.refuse_with = "421 HL:ICC 连接数过多"
    world = {**world, "INTAKE_RETRY_BASE": "0"}
    assert run_intake(world, "run", "--once").returncode == 0  # decided, reply queued, not filed
    dovecot.reset_uidvalidity("INBOX", 4242)
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)  # a new mail after the reset
    smtp_sink.refuse_with = None
    assert run_intake(world, "run", "--once").returncode == 0
    # The old mail is recognised by its bytes (no second reply) and filed by its Message-ID.
    assert len(smtp_sink.received) == 2
    assert len({m["In-Reply-To"] for m in smtp_sink.messages()}) == 2
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("已处理/退回")) == 2


@pytest.mark.postgres
def test_worker_recovers_when_postgresql_restarts(mail_env, dovecot, smtp_sink, tmp_path):
    with running_postgres() as postgres:
        env = load_world({**mail_env, "INTAKE_DB_URL": postgres.database("restart_test")}, tmp_path)
        with worker_thread(env):
            dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
            wait_until(lambda: len(smtp_sink.received) == 1, what="the first reply")
            postgres.restart()
            dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
            wait_until(lambda: len(smtp_sink.received) == 2, what="the reply after the database restart")
            wait_until(lambda: len(dovecot.messages("已处理/退回")) == 2, what="both mails filed")


class StoreLosingOneWrite(Store):
    """The ledger goes away exactly once: right after the SMTP server accepted a reply."""

    lost = False

    def mark_reply_sent(self, reply_pk, at):
        if not self.lost:
            self.lost = True
            raise OperationalError("UPDATE replies", {}, ConnectionError("server closed the connection"))
        super().mark_reply_sent(reply_pk, at)


def test_a_reply_sent_while_the_ledger_is_away_is_recorded_later_not_sent_again(world, dovecot, smtp_sink):
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    settings = load_settings(world)
    profile = load_profile(settings.profile)
    engine = db.connect(settings.database_url)
    store = StoreLosingOneWrite(engine, profile)
    worker = Worker(settings, profile, store)
    # The background sender loses the write; the run's closing send pass records it.
    worker.run_once()
    assert store.lost and len(smtp_sink.received) == 1
    worker.run_once()
    assert len(smtp_sink.received) == 1
    assert len(dovecot.messages("已处理/退回")) == 1


def test_machines_mounting_the_shared_originals_store_at_different_paths(world, dovecot, smtp_sink, tmp_path):
    shared = tmp_path / "nfs-export"
    shared.mkdir()
    mounts = {name: tmp_path / name / "originals" for name in ("machine-a", "machine-b")}
    for mount in mounts.values():
        mount.parent.mkdir()
        mount.symlink_to(shared, target_is_directory=True)
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    fetched = run_intake({**world, "INTAKE_DATA_DIR": str(mounts["machine-a"])}, "run", "--once", "--role", "fetch")
    assert fetched.returncode == 0, fetched.stderr
    mounts["machine-a"].unlink()  # machine A's mount point does not exist on machine B
    for role in ("process", "send"):
        done = run_intake({**world, "INTAKE_DATA_DIR": str(mounts["machine-b"])}, "run", "--once", "--role", role)
        assert done.returncode == 0, done.stderr
    assert [m["X-Intake-Reasons"] for m in smtp_sink.messages()] == ["attachment.missing"]


def test_a_send_pass_that_loses_the_ledger_after_delivery_does_not_fail_the_run(world, dovecot, smtp_sink):
    """The same loss in the closing send pass itself (no background sender): the run goes on,
    the next pass records the reply without sending it again."""
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    settings = load_settings(world)
    store = StoreLosingOneWrite(db.connect(settings.database_url), load_profile(settings.profile))
    worker = Worker(settings, load_profile(settings.profile), store)
    worker.run_once(frozenset({"fetch", "process"}))
    summary = worker.cycle(None, frozenset({"send"}))
    assert store.lost and summary.sent == 1 and len(smtp_sink.received) == 1
    worker.cycle(None, frozenset({"send"}))
    assert len(smtp_sink.received) == 1
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM replies")).scalars().all() == ["sent"]
