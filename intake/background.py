"""Replies leave while the rest of a backlog is still being read."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from intake.logs import get_logger
from intake.summary import RunSummary

if TYPE_CHECKING:
    from intake.worker import Worker

POLL_SECONDS = 2.0  # a sender with nothing to wake it looks at the outbox this often
log = get_logger("intake.worker")


class BackgroundSender:
    """Sends queued replies while this process decides, so the first school of a backlog
    hears back minutes before the last mail is read.

    One thread, woken after each decision and every ``POLL_SECONDS``; each reply
    is claimed with a lease exactly as by ``Worker.send_queued`` (which it calls), so the
    exactly-once argument is unchanged. Use as a context manager; counts go to ``summary``.
    """

    def __init__(self, worker: Worker):
        self.worker = worker
        self.summary = RunSummary()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="intake-sender", daemon=True)

    def __enter__(self) -> BackgroundSender:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.worker.send_queued(self.summary)
            except Exception:  # noqa: BLE001 — the database or SMTP is down: the next pass retries
                log.exception("sender.failed")
                self._stop.wait(POLL_SECONDS)
