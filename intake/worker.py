"""The worker: walks every message through fetch → store → decide → reply → file.

Each step is recorded in the ledger before the next begins, so a restart
resumes where the last run stopped: a mail stored is never fetched into a new
row, a decision is written together with its reply in one transaction, and a
reply marked sent is never sent again.
"""

from __future__ import annotations

import functools
import imaplib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.exc import SQLAlchemyError

from config.profile import Profile
from config.settings import Settings
from domain.decision import Decision, Outcome, Reason, ReasonCode
from intake import bounces, originals, replies, sender
from intake import mailbox as imap
from intake.archive import Limits
from intake.background import BackgroundSender
from intake.daily import Daily
from intake.logs import get_logger
from intake.message import decode, header_only_original
from intake.pipeline import NOT_ATTEMPT, Processed, process
from intake.summary import RunSummary
from ledger import leases
from ledger.store import OutgoingReply, StaleDecision, Store
from parsers.documents import ReaderLimits
from parsers.reader import read_attachment
from templates import say

log = get_logger("intake.worker")

ALL_STAGES = frozenset({"fetch", "process", "send"})
LEDGER_POLL_SECONDS = 2.0
MAX_ATTEMPTS = 3  # a message that crashes processing this often goes to staff
STALE_RETRIES = 3
FETCH_PER_CYCLE = 40  # new mails stored per cycle before they are decided, answered and filed
SEND_LEASE_TIMEOUTS = 6  # a send takes at most ~5 SMTP timeouts (connect, login, MAIL, RCPT, DATA)


def _connection_lost(exc: Exception) -> bool:
    """A dropped or timed-out connection, as opposed to the server refusing one command."""
    return isinstance(exc, imaplib.IMAP4.abort) or isinstance(exc.__cause__, (OSError, imaplib.IMAP4.abort))


def limits_from_settings(settings: Settings) -> tuple[Limits, ReaderLimits]:
    attachment_bytes = int(settings.max_attachment_mb * 1024 * 1024)
    mime = Limits(
        max_attachments=settings.max_attachments,
        max_attachment_bytes=attachment_bytes,
        max_zip_entries=settings.max_zip_entries,
        max_zip_ratio=settings.max_zip_ratio,
    )
    reader = ReaderLimits(
        max_bytes=attachment_bytes,
        max_pages=settings.max_pdf_pages,
        max_pixels=int(settings.max_image_megapixels * 1_000_000),
        max_seconds=settings.max_read_seconds,
    )
    return mime, reader


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        settings: Settings,
        profile: Profile,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        process_fn: Callable[..., Processed] = process,
    ):
        self.settings = settings
        self.profile = profile
        self.store = store
        self.clock = clock
        self.process_fn = process_fn
        self.data_dir = Path(settings.data_dir)
        self.owner = leases.new_holder()  # this worker's own: another Worker of this process waits out its leases
        self._sent_unrecorded: dict[int, datetime] = {}
        self._sender: BackgroundSender | None = None  # set while run_forever sends in a thread
        self.mime_limits, reader_limits = limits_from_settings(settings)
        self.read = functools.partial(read_attachment, limits=reader_limits)
        self.daily = Daily(settings, profile, store)

    # -- folders -----------------------------------------------------------------
    def poll_folders(self) -> list[str]:
        return list(dict.fromkeys([self.settings.imap_folder, *self.profile.poll_folders]))

    def target_folder(self, outcome: str, note: str = "") -> str:
        """Where a handled mail is filed: by its decision; mail without one (``ignored``) in the
        ignored folder, except mail that is no submission attempt (``other``, or ``ignored``
        with a note starting ``intake.pipeline.NOT_ATTEMPT``): the profile's ``other`` folder,
        which staff read (the ignored folder when the profile names none)."""
        folders = self.profile.folders
        if outcome == "other" or (outcome == "ignored" and note.startswith(NOT_ATTEMPT)):
            return folders.other_mail
        return {
            Outcome.ACCEPTED: folders.accepted,
            Outcome.REJECTED: folders.rejected,
            Outcome.REVIEW: folders.review,
        }.get(outcome, folders.ignored)

    # -- stages ------------------------------------------------------------------
    def fetch_new(self, box: imap.Mailbox, summary: RunSummary) -> None:
        """Store up to ``FETCH_PER_CYCLE`` new mails; ``summary.more_waiting`` says whether more are.

        A backlog is taken in slices so the first schools are answered while the rest
        still waits on the server, not after all of it was downloaded."""
        max_bytes = int(self.settings.max_message_mb * 1024 * 1024)
        room = FETCH_PER_CYCLE
        for folder in box.existing(self.poll_folders()):
            uidvalidity, uids = box.uids(folder)
            known = self.store.known_uids(folder, uidvalidity)
            new = [u for u in uids if u not in known]
            if len(new) > room:
                new, summary.more_waiting = new[:room], True
            room -= len(new)
            for item in box.fetch(folder, uidvalidity, new, max_bytes=max_bytes):
                # Over the size limit only the header block was fetched: store it, marked,
                # so deciding says why (the whole mail stays on the server and is filed).
                raw = item.raw if item.complete else header_only_original(item.raw, item.size, max_bytes)
                sha, path = originals.keep(self.data_dir, raw)
                envelope = decode(raw, item.internaldate, limits=self.mime_limits)
                record, created = self.store.record_message(
                    mailbox=folder,
                    uidvalidity=uidvalidity,
                    uid=item.uid,
                    message_id=envelope.message_id,
                    sha256=sha,
                    received_at=item.internaldate,
                    sender=envelope.sender,
                    subject=envelope.subject,
                    original_path=str(path),
                )
                summary.fetched += int(created)
                summary.examined += 1
                log.info(
                    "message.stored" if created else "message.duplicate",
                    message_id=envelope.message_id,
                    folder=folder,
                    uid=item.uid,
                    **({} if item.complete else {"oversize": item.size, "limit": max_bytes}),
                )

    def decide_pending(self, summary: RunSummary, stop: threading.Event | None = None,
                       decided: Callable[[], None] = lambda: None) -> None:
        """Claim stored messages one by one (several workers may do this at once) and decide them.

        ``decided`` is called after each message, e.g. to wake the background sender."""
        lease = timedelta(seconds=self.settings.process_lease)
        claimed_here: Counter = Counter()
        while not (stop and stop.is_set()):
            record = self.store.claim(self.owner, lease, self.clock())
            if record is None or claimed_here[record.id] > MAX_ATTEMPTS:
                return
            claimed_here[record.id] += 1
            with structlog.contextvars.bound_contextvars(message_id=record.message_id, uid=record.uid):
                try:
                    self.decide_one(record, summary)
                except Exception as exc:  # noqa: BLE001 — one bad mail must not stop the queue
                    summary.errors += 1
                    retry_at = self.clock() + sender.retry_delay(record.attempts + 1, self.settings.retry_base)
                    attempts = self.store.record_failure(record.id, repr(exc), retry_at)
                    log.exception("message.failed", attempts=attempts)
                    if attempts >= MAX_ATTEMPTS:
                        self.quarantine(record, exc, summary)
            decided()

    def decide_one(self, record, summary: RunSummary) -> None:
        started = time.perf_counter()
        raw = originals.load(self.data_dir, record.original_path)
        envelope = decode(raw, record.received_at, limits=self.mime_limits)
        for attempt in range(1, STALE_RETRIES + 1):
            state = self.store.snapshot()
            result = self.process_fn(envelope, self.profile, state, self.read,
                                     budget_seconds=self.settings.max_message_read_seconds)
            if result.decision is None:
                bounces.note_bounce(self.store.engine, record.id, envelope.auto_generated, raw, self.clock())
                self.store.record_decision(
                    record.id, claim=None, forms=[], decision=None, reply=None, note=result.note
                )
                summary.decided["ignored"] += 1
                log.info("message.ignored", note=result.note,
                         folder=self.target_folder("other" if result.other_mail else "ignored"))
                return
            reply = self.prepare_reply(envelope, result)
            try:
                self.store.record_decision(
                    record.id, claim=result.claim, forms=list(result.forms), decision=result.decision, reply=reply,
                    note=result.note,
                )
                break
            except StaleDecision:
                # Another worker changed the quota this increase quotes: decide again on fresh numbers.
                log.info("message.stale_decision", attempt=attempt)
        else:
            raise RuntimeError(f"quota kept changing during {STALE_RETRIES} decisions")
        summary.decided[str(result.decision.outcome)] += 1
        log.info("message.decided", outcome=str(result.decision.outcome), reasons=result.decision.codes,
                 seconds=round(time.perf_counter() - started, 3))

    def prepare_reply(self, envelope, result: Processed) -> OutgoingReply:
        reply_id = replies.new_reply_message_id(self.profile)
        changes = [
            (line.certificate, line.level, line.approved, line.requested)
            for form in result.forms
            if form.kind == "increase"
            for line in form.lines
        ]
        to_addr = result.reply_to or envelope.sender
        earlier = None
        if result.claim is not None and result.claim.kind == "summary":
            earlier = self.store.current_summary(result.claim.unit, result.claim.year, envelope.received_at)
        raw = replies.build_reply(
            envelope=envelope,
            decision=result.decision,
            claim=result.claim,
            forms=list(result.forms),
            profile=self.profile,
            from_addr=self.settings.from_address,
            to_addr=to_addr,
            reply_message_id=reply_id,
            now=self.clock(),
            quota_changes=changes if result.decision.outcome == Outcome.ACCEPTED else [],
            supersedes_at=earlier.received_at if earlier else None,
        )
        return OutgoingReply(to_addr=to_addr, reply_message_id=reply_id, raw=raw)

    def quarantine(self, record, exc: Exception, summary: RunSummary) -> None:
        """After repeated crashes: hand the mail to staff (review) with one reply."""
        raw = originals.load(self.data_dir, record.original_path)
        envelope = decode(raw, record.received_at, limits=self.mime_limits)
        decision = Decision(
            Outcome.REVIEW,
            (Reason(ReasonCode.ATTACHMENT_UNREADABLE, detail=say("details.attachment.unreadable.crashed")),),
        )
        result = Processed(decision, reply_to=envelope.sender)
        reply = self.prepare_reply(envelope, result) if envelope.sender and not envelope.auto_generated else None
        self.store.record_decision(
            record.id, claim=None, forms=[], decision=decision, reply=reply, note=f"quarantined: {exc!r}"
        )
        summary.decided["quarantined"] += 1
        log.error("message.quarantined")

    def send_queued(self, summary: RunSummary) -> None:
        """Send due replies one by one; each is leased, so several senders never send one twice."""
        config = sender.config_from_settings(self.settings)
        lease = timedelta(seconds=SEND_LEASE_TIMEOUTS * self.settings.smtp_timeout)
        self._record_sent()
        while (reply := self.store.claim_reply(self.owner, lease, self.clock())) is not None:
            with structlog.contextvars.bound_contextvars(reply_message_id=reply.reply_message_id):
                def handed_over(reply_id: int = reply.id) -> None:
                    self.store.mark_reply_handed_over(reply_id, self.clock())

                try:
                    sender.send(config, reply.to_addr, reply.raw, before_data=handed_over)
                except sender.SendError as exc:
                    summary.send_failed += 1
                    delay = sender.retry_delay(reply.attempts + 1, self.settings.retry_base)
                    # A permanent refusal (5xx) is not retried: staff see it as unsent.
                    retry_at = None if exc.permanent else self.clock() + delay
                    self.store.mark_reply_failed(reply.id, str(exc), retry_at)
                    log.warning("reply.failed", error=str(exc), permanent=exc.permanent)
                    if not exc.permanent:
                        break  # the server is unhappy: try the rest later, in order
                    summary.send_refused += 1
                    continue
                # Delivered: remember it here first, so losing the database now cannot cause a resend.
                self._sent_unrecorded[reply.id] = self.clock()
                summary.sent += 1
                log.info("reply.sent", to=reply.to_addr)
                try:
                    self._record_sent()
                except SQLAlchemyError as exc:  # the ledger went away: record it on the next pass
                    log.warning("reply.record_deferred", error=str(exc))
                    break

    def _record_sent(self) -> None:
        while self._sent_unrecorded:
            reply_id, at = next(iter(self._sent_unrecorded.items()))
            self.store.mark_reply_sent(reply_id, at)
            del self._sent_unrecorded[reply_id]

    def file_done(self, box: imap.Mailbox, summary: RunSummary) -> None:
        """Move every finished mail into its folder; a refusal leaves it in place for a later retry.

        The reply has already gone out, so a folder the server will not create or a MOVE
        it refuses costs nothing but tidiness: it is logged, counted, retried with
        back-off, and the rest of the batch goes on. A broken connection is not a refusal:
        it ends the pass and the worker reconnects.
        """
        for record, outcome in self.store.unfiled(self.clock()):
            target = self.target_folder(outcome, record.note)
            try:
                self.file_one(box, record, target, summary)
            except (imap.MailboxError, imap.IMAPClientError) as exc:
                if _connection_lost(exc):
                    raise
                attempts = self.store.record_filing_failure(
                    record.id, str(exc), self.clock() + sender.retry_delay(record.file_attempts + 1,
                                                                             self.settings.retry_base))
                summary.file_failed += 1
                log.warning("message.file_failed", message_id=record.message_id, folder=target,
                            error=str(exc), attempts=attempts)

    def file_one(self, box: imap.Mailbox, record, target: str, summary: RunSummary) -> None:
        if record.mailbox not in box.existing([record.mailbox]):
            self.store.mark_filed(record.id, "")  # the folder is gone: nothing left to move
            return
        uid: int | None = record.uid
        if box.select(record.mailbox) != record.uidvalidity:
            # UIDs were reset: find the mail again by its Message-ID (ASCII, safe to search).
            uid = box.find(record.mailbox, record.message_id)
        if uid is None:
            self.store.mark_filed(record.id, "")
            return
        box.file(record.mailbox, uid, target)
        self.store.mark_filed(record.id, target)
        summary.filed += 1

    # -- loops -------------------------------------------------------------------
    def cycle(self, box: imap.Mailbox | None, stages: frozenset[str], stop: threading.Event | None = None) -> RunSummary:
        """One pass over the stages this process runs, in pipeline order, each one timed."""
        summary = RunSummary()
        timings: dict[str, float] = {}

        def timed(name: str, step: Callable[[], None]) -> None:
            started = time.perf_counter()
            step()
            timings[name] = round(time.perf_counter() - started, 3)

        if "fetch" in stages and box is not None:
            timed("fetch_s", lambda: self.fetch_new(box, summary))
        if "process" in stages and "send" in stages and self._sender is None:
            # Replies go out while the rest of the backlog is still being read.
            with BackgroundSender(self) as background:
                timed("decide_s", lambda: self.decide_pending(summary, stop, decided=background.wake))
            summary.add(background.summary)
        elif "process" in stages:
            wake = self._sender.wake if self._sender else (lambda: None)
            timed("decide_s", lambda: self.decide_pending(summary, stop, decided=wake))
        if stages & {"process", "send"}:  # the digest and automatic reminders, when due (queued here, sent below)
            timed("daily_s", lambda: self.daily.run(self.clock()))
        if "send" in stages:
            timed("send_s", lambda: self.send_queued(summary))
        if "fetch" in stages and box is not None:
            timed("file_s", lambda: self.file_done(box, summary))
        if summary.fetched or summary.sent or summary.decided or summary.file_failed:
            log.info("worker.cycle", fetched=summary.fetched, decided=dict(summary.decided), sent=summary.sent,
                     filed=summary.filed, file_failed=summary.file_failed, **timings)
        return summary

    def run_once(self, stages: frozenset[str] = ALL_STAGES) -> RunSummary:
        if "fetch" not in stages:
            return self.cycle(None, stages)
        total = RunSummary()
        with imap.Mailbox(imap.config_from_settings(self.settings)) as box:
            while True:
                summary = self.cycle(box, stages)
                total.add(summary)
                if not summary.more_waiting or not summary.examined:  # the latter: nothing could be fetched
                    return total

    def run_forever(self, stop: threading.Event, stages: frozenset[str] = ALL_STAGES) -> None:
        """Work until ``stop`` is set; on any mailbox or database error, back off and reconnect.

        Beside other stages, sending runs in its own thread the whole time: a reply decided
        here or by a ``--workers`` process leaves within seconds, not after the next IDLE."""
        if "send" in stages and stages != {"send"}:
            with BackgroundSender(self) as background:
                self._sender = background
                try:
                    self._run_forever(stop, stages - {"send"})
                finally:
                    self._sender = None
            return
        self._run_forever(stop, stages)

    def _run_forever(self, stop: threading.Event, stages: frozenset[str]) -> None:
        failures = 0
        while not stop.is_set():
            try:
                if "fetch" in stages:
                    self._mailbox_loop(stop, stages)
                else:
                    self._ledger_loop(stop, stages)
                failures = 0
            except (imap.MailboxError, OSError, imap.IMAPClientError, SQLAlchemyError) as exc:
                failures += 1
                delay = min(300.0, 2.0**failures) * random.uniform(0.5, 1.5)
                log.warning("worker.reconnect", error=str(exc).splitlines()[0], retry_in=round(delay, 1))
                stop.wait(delay)

    def _mailbox_loop(self, stop: threading.Event, stages: frozenset[str]) -> None:
        with imap.Mailbox(imap.config_from_settings(self.settings)) as box:
            while not stop.is_set():
                if self.cycle(box, stages, stop).more_waiting:
                    continue  # the rest of a backlog: no waiting
                # IDLE returns as soon as mail arrives; NetEase has no IDLE, so poll.
                if not box.wait_for_mail(self.settings.imap_folder, min(self.settings.poll_interval, 300)):
                    stop.wait(self.settings.poll_interval)

    def _ledger_loop(self, stop: threading.Event, stages: frozenset[str]) -> None:
        """Process and send roles only read the ledger: poll it briefly when idle."""
        while not stop.is_set():
            summary = self.cycle(None, stages, stop)
            if not (summary.decided or summary.sent):
                stop.wait(min(self.settings.poll_interval, LEDGER_POLL_SECONDS))
