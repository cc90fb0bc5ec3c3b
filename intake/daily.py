"""Once-a-day work, called from every worker cycle: the staff digest at ``INTAKE_DIGEST_HOUR`` and the
profile's automatic 催报 (``remind_days_before`` at ``remind_hour``).

Driven by the worker's clock, so tests move a season through its window without sleeping.
The database decides "once": a digest per day and a reminder per unit and day are unique
keys, so two workers (or a restart) never send twice; the in-memory ``_done`` only spares
this process the work of asking again in the same day. An hour missed (the worker was down)
is made up later the same day, never the next.
"""

from __future__ import annotations

from datetime import date, datetime

from config.profile import Profile
from config.settings import Settings
from intake import digest, reminders
from intake.logs import get_logger
from ledger.reminders import open_window
from ledger.store import Store

log = get_logger("intake.daily")


def reminders_due(profile: Profile, local: datetime) -> bool:
    """Today is one of the profile's reminder days of an open summary window, and its hour has come."""
    window = open_window(profile, "summary", local.date())
    return (window is not None and local.hour >= profile.remind_hour
            and (window.end - local.date()).days in profile.remind_days_before)


class Daily:
    def __init__(self, settings: Settings, profile: Profile, store: Store):
        self.settings, self.profile, self.store = settings, profile, store
        self._done: set[tuple[str, date]] = set()

    def run(self, now: datetime) -> None:
        """Do what is due at ``now``; a failure is logged and tried again next cycle, never raised."""
        try:
            self._run(now)
        except Exception:  # noqa: BLE001 — the mail must keep flowing whatever the digest does
            log.exception("daily.failed")

    def _run(self, now: datetime) -> None:
        local = now.astimezone(self.profile.timezone)
        today = local.date()
        if reminders_due(self.profile, local) and ("remind", today) not in self._done:
            result = reminders.remind_due(self.store.engine, self.profile, self.settings.from_address, now)
            self._done.add(("remind", today))
            log.info("reminders.automatic", queued=len(result.queued), no_address=result.no_address)
        if self.settings.staff_list and local.hour >= self.settings.digest_hour and ("digest", today) not in self._done:
            queued = digest.send_digest(self.store.engine, self.profile, self.settings, now)
            self._done.add(("digest", today))
            if queued:
                log.info("digest.queued", to=self.settings.staff_list)
