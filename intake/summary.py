"""What one pass of the worker did: counts per stage, merged across threads and cycles."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunSummary:
    fetched: int = 0
    decided: Counter = field(default_factory=Counter)
    sent: int = 0
    send_failed: int = 0
    send_refused: int = 0  # of those, refused for good (5xx): never retried
    filed: int = 0
    file_failed: int = 0
    errors: int = 0
    more_waiting: bool = False  # the fetch stage left new mail on the server for the next cycle
    examined: int = 0  # mails fetched, new or already known at another location

    def add(self, other: RunSummary) -> None:
        self.fetched += other.fetched
        self.decided.update(other.decided)
        self.sent += other.sent
        self.send_failed += other.send_failed
        self.send_refused += other.send_refused
        self.filed += other.filed
        self.file_failed += other.file_failed
        self.errors += other.errors
        self.more_waiting = self.more_waiting or other.more_waiting
        self.examined += other.examined
