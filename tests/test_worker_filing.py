"""Filing never stops the work, and replies leave while the backlog is still being read.

The server really refuses here: Dovecot cannot create a folder whose name is longer
than a file name may be, as an office's server refuses a folder its policy forbids.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from config.profile import load_profile
from config.settings import load_settings
from intake.pipeline import process
from intake.worker import Worker
from ledger import db
from ledger.models import Message
from ledger.store import Store
from review.metrics import render as render_metrics
from testkit.world import IN_WINDOW, UNIT, run_intake, submission

PROFILES = Path(__file__).resolve().parents[1] / "config" / "profiles"
REFUSED_FOLDER = "已处理/" + "退" * 120  # 120 CJK characters: > 255 bytes as a modified UTF-7 file name


def profile_refusing_the_rejected_folder(tmp_path: Path) -> Path:
    text = (PROFILES / "anhui-2025.toml").read_text(encoding="utf-8")
    assert 'rejected = "已处理/退回"' in text
    path = tmp_path / "anhui-2025-refused.toml"
    path.write_text(text.replace('rejected = "已处理/退回"', f'rejected = "{REFUSED_FOLDER}"'), encoding="utf-8")
    return path


def test_a_refused_folder_is_retried_and_the_rest_of_the_batch_is_filed(world, dovecot, smtp_sink, tmp_path):
    env = {**world, "INTAKE_PROFILE": str(profile_refusing_the_rejected_folder(tmp_path)),
           "INTAKE_RETRY_BASE": "0"}
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)  # rejected: no attachment
    dovecot.append(submission("自动回复：您好", headers={"Auto-Submitted": "auto-replied"}), IN_WINDOW)

    done = run_intake(env, "run", "--once")
    assert done.returncode == 3, done.stdout + done.stderr  # finished, but something needs staff
    assert "Traceback" not in done.stderr
    assert "could not be moved into their folder" in done.stdout
    assert len(smtp_sink.received) == 1  # the reply went out before filing was tried
    assert len(dovecot.messages("已忽略")) == 1  # the rest of the batch was filed
    assert len(dovecot.messages("INBOX")) == 1  # the refused mail stays where it was
    failed = [json.loads(line) for line in done.stderr.splitlines() if '"message.file_failed"' in line]
    assert len(failed) == 1 and failed[0]["folder"] == REFUSED_FOLDER

    health = json.loads(run_intake(env, "health").stdout)["database"]
    assert health["unfiled"] == 1 and health["unfiled_refused"] == 1
    assert health["oldest_unfiled_age_s"] is not None
    metrics = render_metrics(db.connect(load_settings(env).database_url))
    assert "intake_unfiled 1\n" in metrics and "intake_unfiled_refused 1\n" in metrics

    # The office fixes the folder name: the next run files the mail, answers nobody twice.
    again = run_intake(world, "run", "--once")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing needs staff." in again.stdout
    assert len(smtp_sink.received) == 1
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("已处理/退回")) == 1
    assert json.loads(run_intake(world, "health").stdout)["database"]["unfiled"] == 0


def test_a_refused_folder_waits_for_its_back_off(world, dovecot, smtp_sink, tmp_path):
    env = {**world, "INTAKE_PROFILE": str(profile_refusing_the_rejected_folder(tmp_path)),
           "INTAKE_RETRY_BASE": "3600"}
    dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    assert run_intake(env, "run", "--once").returncode == 3
    # Within the back-off nothing is tried again (one failure event, not two).
    again = run_intake(env, "run", "--once")
    assert '"message.file_failed"' not in again.stderr
    assert again.returncode == 3  # still unfiled, still needs staff
    assert len(dovecot.messages("INBOX")) == 1


def test_replies_leave_while_the_backlog_is_still_being_decided(world, dovecot, smtp_sink):
    """The last mail of a backlog is decided only once the first school's reply was delivered:
    with sending after the whole batch (the old cycle) this waits in vain and fails."""
    for _ in range(3):
        dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    settings = load_settings(world)
    profile = load_profile(settings.profile)
    decided = []
    first_reply_seen = threading.Event()

    def process_after_first_reply(envelope, *args, **kwargs):
        if decided and not first_reply_seen.is_set():  # the second mail waits for the first reply
            deadline = time.monotonic() + 10
            while not smtp_sink.received and time.monotonic() < deadline:
                time.sleep(0.05)
            if smtp_sink.received:
                first_reply_seen.set()
        decided.append(envelope.message_id)
        return process(envelope, *args, **kwargs)

    worker = Worker(settings, profile, Store(db.connect(settings.database_url), profile),
                    process_fn=process_after_first_reply)
    summary = worker.run_once()
    assert first_reply_seen.is_set()
    assert len(decided) == 3 and summary.sent == 3 and len(smtp_sink.received) == 3
    assert len(dovecot.messages("已处理/退回")) == 3


def test_a_backlog_is_taken_in_slices_and_all_of_it_answered(world, dovecot, smtp_sink, monkeypatch):
    monkeypatch.setattr("intake.worker.FETCH_PER_CYCLE", 2)
    for _ in range(5):
        dovecot.append(submission(f"{UNIT}+2025年证书申报"), IN_WINDOW)
    settings = load_settings(world)
    profile = load_profile(settings.profile)
    engine = db.connect(settings.database_url)
    stored_at_decision = []

    def process_noting_the_store(*args, **kwargs):
        with engine.connect() as conn:
            stored_at_decision.append(conn.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one())
        return process(*args, **kwargs)

    worker = Worker(settings, profile, Store(engine, profile), process_fn=process_noting_the_store)
    summary = worker.run_once()
    assert summary.fetched == 5 and summary.sent == 5 and len(smtp_sink.received) == 5
    assert dovecot.messages("INBOX") == [] and len(dovecot.messages("已处理/退回")) == 5
    assert stored_at_decision == [2, 2, 4, 4, 5]  # each slice decided before the next was fetched
