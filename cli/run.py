"""``intake run`` (the mailbox worker) and ``intake health``."""

from __future__ import annotations

import json
import multiprocessing
import signal
import sys
import threading

import click

from cli import loader, runreport
from cli.errors import WHILE_RUNNING, Command, ExitCode, mapped
from intake.logs import get_logger

ROLES = {
    "all": frozenset({"fetch", "process", "send"}),
    "fetch": frozenset({"fetch"}),  # IMAP → stored originals; files finished mail
    "process": frozenset({"process"}),  # stored → decided (OCR, rules); the expensive part
    "send": frozenset({"send"}),  # outbox → SMTP
}


def build_worker():
    from intake.worker import Worker
    from ledger.store import Store

    settings = loader.settings()
    profile = loader.profile(settings)
    return Worker(settings, profile, Store(loader.ledger(settings), profile))


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def process_child() -> None:
    """Entry point of one extra processing process (``--workers N``)."""
    stop = stop_on_signals()
    build_worker().run_forever(stop, ROLES["process"])


@click.command(cls=Command)
@click.option("--once", is_flag=True, help="Process everything waiting, send replies, then exit.")
@click.option("--role", type=click.Choice(list(ROLES)), default="all", show_default=True,
              help="Which stages this process runs; several processes may share one PostgreSQL ledger.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processing processes to start (each claims stored mail on its own).")
def run(once: bool, role: str, workers: int) -> None:
    """Run the mailbox worker."""
    worker = build_worker()
    stages = ROLES[role]
    log = get_logger("intake.cli")
    if once:
        run_once_and_report(worker, stages)
        return
    stop = stop_on_signals()
    children = []
    if workers > 1 and "process" in stages:
        context = multiprocessing.get_context("spawn")
        children = [context.Process(target=process_child, name=f"intake-process-{i}") for i in range(workers)]
        for child in children:
            child.start()
        stages = stages - {"process"}
    log.info("run.start", role=role, workers=workers, stages=sorted(stages), folders=worker.poll_folders())
    if stages:
        worker.run_forever(stop, stages)
    else:
        stop.wait()
    for child in children:
        child.terminate()  # SIGTERM: each finishes or releases its current message
    for child in children:
        child.join(timeout=60)
    log.info("run.stopped")


def run_once_and_report(worker, stages: frozenset[str]) -> None:
    """One pass; a summary on stdout; exit 3 when something needs staff (see ``cli.runreport``)."""
    with mapped(WHILE_RUNNING):  # a dropped connection here means the mailbox or the database went away
        summary = worker.run_once(stages)
    get_logger("intake.cli").info(
        "run.done", fetched=summary.fetched, decided=dict(summary.decided), sent=summary.sent,
        send_failed=summary.send_failed, filed=summary.filed, file_failed=summary.file_failed,
        errors=summary.errors)
    text, code = runreport.render(summary, runreport.ledger_attention(worker.store.engine),
                                  worker.profile.folders)
    click.echo(text)
    sys.exit(code)


@click.command(cls=Command)
def health() -> None:
    """Check the mailbox and the ledger; print JSON; exit 1 when something is down."""
    from intake.health import check

    report = check(loader.settings())
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["ok"]:
        sys.exit(ExitCode.FAILED)
