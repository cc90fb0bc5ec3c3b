"""Deadline-day burst: messages per minute for 1, 2 and 4 processing workers, and latency.

Real parts only: Dovecot (IMAP, IDLE), aiosmtpd (SMTP), a throw-away PostgreSQL, and the
``intake`` console script as separate processes. Every mail is a text-layer summary PDF
from a different Anhui school, so the numbers measure the pipeline (fetch, decode, read,
decide, reply, file), not OCR; ``make bench`` measures the reader on scans.

    python -m bench.throughput --mails 300 --workers 1,2,4
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from testkit.mailstack import Dovecot, SmtpSink, free_port
from testkit.postgres import RunningPostgres, running_postgres
from testkit.world import burst, write_anhui_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVAL = datetime(2025, 4, 10, 16, 0, tzinfo=SHANGHAI)  # the last afternoon of the window
INTAKE = str(Path(sys.executable).with_name("intake"))
console = Console(width=None if sys.stdout.isatty() else 140)


def intake(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([INTAKE, *args], env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"intake {' '.join(args)} failed:\n{done.stderr}")


def one_run(postgres: RunningPostgres, mails: list[bytes], workers: int, files: tuple[Path, Path], tmp: Path,
            probes: list[bytes] = ()) -> dict:
    db_url = postgres.database(f"bench_{workers}_{int(time.time() * 1000)}")
    root = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    dovecot, sink = Dovecot(root=root, port=free_port()), SmtpSink(port=free_port())
    dovecot.start()
    sink.start()
    env = {**os.environ, "INTAKE_PROFILE": "anhui-2025", "INTAKE_DB_URL": db_url,
           "INTAKE_DATA_DIR": str(tmp / f"originals-{workers}"), "INTAKE_IMAP_HOST": "127.0.0.1",
           "INTAKE_IMAP_PORT": str(dovecot.port), "INTAKE_IMAP_USER": dovecot.user,
           "INTAKE_IMAP_PASSWORD": dovecot.password, "INTAKE_IMAP_SSL": "0", "INTAKE_SMTP_HOST": "127.0.0.1",
           "INTAKE_SMTP_PORT": str(sink.port), "INTAKE_SMTP_SSL": "0", "INTAKE_FROM": "ahxzsbg@126.com",
           "INTAKE_POLL_INTERVAL": "0.5", "INTAKE_LOG_FORMAT": "json"}
    try:
        intake(env, "units", "import", str(files[0]))
        intake(env, "catalog", "import", str(files[1]))
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"delivering {len(mails)} mails", total=len(mails))
            with dovecot.client() as imap:
                for raw in mails:
                    imap.append("INBOX", raw, msg_time=ARRIVAL)
                    progress.advance(task)
        log = open(tmp / f"worker-{workers}.log", "w")
        proc = subprocess.Popen([INTAKE, "run", "--workers", str(workers)], env=env, stdout=log, stderr=log)
        start = time.monotonic()
        first_reply = None  # the whole backlog is waiting when the worker starts: its "arrival"
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{workers} worker(s): replies", total=len(mails))
            while len(sink.received) < len(mails):
                if proc.poll() is not None:
                    raise RuntimeError(f"the worker exited early; see {log.name}")
                if first_reply is None and sink.received:
                    first_reply = time.monotonic() - start
                progress.update(task, completed=len(sink.received))
                time.sleep(0.05)
        elapsed = time.monotonic() - start
        latencies = []
        for probe in probes:  # new mails: the same bytes again would (rightly) get no second reply
            before = len(sink.received)
            sent_at = time.monotonic()
            dovecot.append(probe, ARRIVAL.replace(hour=17))
            while len(sink.received) == before:
                time.sleep(0.02)
            latencies.append(time.monotonic() - sent_at)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        decisions, review_reasons = Counter(), Counter()
        for message in sink.messages():
            decisions[message["X-Intake-Decision"]] += 1
            if message["X-Intake-Decision"] == "review":
                review_reasons.update(c for c in str(message["X-Intake-Reasons"]).split(",") if c)
        return {"workers": workers, "mails": len(mails), "seconds": elapsed,
                "per_minute": len(mails) / elapsed * 60, "decisions": decisions, "latencies": latencies,
                "replies": len(sink.received) - len(probes), "first_reply": first_reply or elapsed,
                "review_reasons": review_reasons}
    finally:
        sink.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-probes", type=int, default=20)
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="intake-throughput-"))
    units, catalog, contacts = write_anhui_world(tmp)
    with console.status(f"rendering {args.mails} summary PDFs…"):
        mails = burst(contacts, args.mails)
        probes = burst(contacts, args.latency_probes, seed=8)
    results = []
    with running_postgres() as postgres:
        for i, workers in enumerate(counts):
            results.append(one_run(postgres, mails, workers, (units, catalog), tmp, probes if i == 0 else []))
            console.print(f"{workers} worker(s): {results[-1]['per_minute']:.0f} mails/min")
    table = Table(title=f"Burst of {args.mails} mails (text-PDF summaries), PostgreSQL, {os.cpu_count()} cores")
    for column in ("workers", "seconds", "mails/min", "1st reply s", "last reply s",
                   "replies", "decisions", "review /100 mails"):
        table.add_column(column)
    for r in results:
        per_100 = 100 / max(1, r["replies"])
        review = ", ".join(f"{code} {n * per_100:.1f}" for code, n in r["review_reasons"].most_common()) or "0"
        table.add_row(str(r["workers"]), f"{r['seconds']:.1f}", f"{r['per_minute']:.0f}",
                      f"{r['first_reply']:.1f}", f"{r['seconds']:.1f}", str(r["replies"]),
                      ", ".join(f"{k} {v}" for k, v in sorted(r["decisions"].items())), review)
    console.print(table)
    console.print("First / last reply: seconds from the worker's start to the first and the last reply of the "
                  "backlog, which had all arrived before the start.")
    lat = results[0]["latencies"]
    if lat:
        p95 = sorted(lat)[max(0, round(0.95 * len(lat)) - 1)]
        console.print(f"Arrival → reply while idle (IMAP IDLE), {len(lat)} mails, 1 worker: "
                      f"median {statistics.median(lat):.2f} s, p95 {p95:.2f} s")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
