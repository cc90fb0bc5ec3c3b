"""200 mails, the worker killed with SIGKILL at random moments and restarted, again and again.

Real parts: Dovecot, the aiosmtpd sink, PostgreSQL, and ``intake run`` as its own process
group (with ``--workers 2`` every other time, so processing children die too). At the end
every mail has exactly one ledger row, one reply and one folder. The only duplicate the
service may send is a reply whose SMTP conversation was cut after the data went out —
the ledger then records ``reply.outcome_unknown`` for it, and the resend has the same
Message-ID; the test checks every extra delivery is one of those.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from config.profile import load_profile
from ledger.models import Event, Message, Reply, Submission
from testkit.world import IN_WINDOW, INTAKE, burst, run_intake, submission, write_anhui_world

MAILS = 200
KILLS = 12
pytestmark = pytest.mark.postgres


def _mails(contacts: dict[str, str]) -> list[bytes]:
    """Text-PDF summaries from many schools (some twice: a resubmission), and mails to reject."""
    forms = burst(contacts, MAILS * 3 // 4, seed=11)
    units = list(contacts)
    rejects = [submission(f"{units[i]}+2025年证书申报", sender=contacts[units[i]]) for i in range(MAILS - len(forms))]
    mails = forms + rejects
    random.Random(5).shuffle(mails)
    return mails


def _start(env: dict[str, str], workers: int, log) -> subprocess.Popen:
    return subprocess.Popen([INTAKE, "run", "--workers", str(workers)], env=env, stdout=log, stderr=log,
                            start_new_session=True)


def test_random_sigkills_during_200_mails_lose_nothing_and_double_nothing(mail_env, dovecot, smtp_sink,
                                                                          postgres_server, tmp_path):
    env = {**os.environ, **mail_env, "INTAKE_DB_URL": postgres_server.fresh_database(),
           "INTAKE_POLL_INTERVAL": "0.5", "INTAKE_LOG_FORMAT": "json"}
    units_csv, catalog_csv, contacts = write_anhui_world(tmp_path)
    for kind, path in (("units", units_csv), ("catalog", catalog_csv)):
        assert run_intake(env, kind, "import", str(path)).returncode == 0
    mails = _mails(contacts)
    with dovecot.client() as imap:
        for raw in mails:
            imap.append("INBOX", raw, msg_time=IN_WINDOW)

    engine = sa.create_engine(env["INTAKE_DB_URL"])

    def filed() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(Message.state == "filed")).scalar_one()

    rng = random.Random(2026)
    kills = 0
    with (tmp_path / "worker.log").open("ab") as log:
        while kills < KILLS and filed() < MAILS:
            proc = _start(env, workers=1 + kills % 2, log=log)
            time.sleep(rng.uniform(2.0, 6.0))  # start-up takes ~2 s: some kills land before any work
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        proc = _start(env, workers=2, log=log)
        deadline = time.monotonic() + 240
        while filed() < MAILS and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=120)
    assert kills >= 5, "the run ended before the worker was killed often enough to mean anything"

    with engine.connect() as conn:
        messages = conn.execute(sa.select(Message.id, Message.message_id, Message.state)).all()
        replies = conn.execute(sa.select(Reply.message_pk, Reply.reply_message_id, Reply.status)).all()
        submissions = Counter(conn.execute(sa.select(Submission.message_pk)).scalars())
        doubts = Counter(d["reply_message_id"] for d in conn.execute(
            sa.select(Event.detail).where(Event.action == "reply.outcome_unknown")).scalars())
    engine.dispose()

    # The ledger: one row per mail, every one finished, one reply each, at most one submission each.
    assert len(messages) == MAILS and {m.state for m in messages} == {"filed"}
    assert sorted(r.message_pk for r in replies) == sorted(m.id for m in messages)
    assert {r.status for r in replies} == {"sent"}
    assert max(submissions.values()) == 1
    # The SMTP sink: every mail answered; a second delivery only where the ledger admits doubt.
    delivered = Counter(m["Message-ID"] for m in smtp_sink.messages())
    assert set(delivered) == {r.reply_message_id for r in replies}
    extra = {mid: n - 1 for mid, n in delivered.items() if n > 1}
    assert all(extra[mid] <= doubts[mid] for mid in extra), (extra, doubts)
    answered = Counter({m["Message-ID"]: m["In-Reply-To"] for m in smtp_sink.messages()}.values())
    assert set(answered) == {m.message_id for m in messages} and set(answered.values()) == {1}
    # The mailbox: nothing left in the inbox, every mail in exactly one folder.
    folders = load_profile("anhui-2025").folders
    assert dovecot.messages("INBOX") == []
    placed = sum(len(dovecot.messages(f)) for f in {folders.accepted, folders.rejected, folders.review, folders.ignored}
                 if f in dovecot.folders())
    assert placed == MAILS
    print(f"\n{kills} kills, {sum(extra.values())} resends after an unknown outcome, "
          f"{sum(doubts.values())} replies in doubt")
