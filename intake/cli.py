"""The ``intake`` console script. Errors end as one line saying what to do, exit 2."""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import sys
import threading

import click

from config.profile import ProfileError, load_profile
from config.settings import Settings, SettingsError, load_settings
from intake.logs import configure, get_logger

# Command groups contributed by other packages: module path -> register(cli)
PLUGINS = ("ledger.cli", "parsers.cli", "ledger.web.cli")


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(f"{exc}\nFix the variable (or the settings file) and start again.")
    configure(settings.log_format)
    return settings


def profile_or_exit(settings: Settings):
    try:
        return load_profile(settings.profile, settings.profile_dir)
    except ProfileError as exc:
        raise click.ClickException(str(exc))


@click.group()
def cli() -> None:
    """1+X Intake: reads the applications mailbox, keeps the ledger, replies to schools."""


ROLES = {
    "all": frozenset({"fetch", "process", "send"}),
    "fetch": frozenset({"fetch"}),  # IMAP → stored originals; files finished mail
    "process": frozenset({"process"}),  # stored → decided (OCR, rules); the expensive part
    "send": frozenset({"send"}),  # outbox → SMTP
}


def build_worker():
    from intake.worker import Worker
    from ledger import db
    from ledger.store import Store

    settings = settings_or_exit()
    profile = profile_or_exit(settings)
    try:
        engine = db.connect(settings.database_url)
        db.migrate(engine)
    except db.DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc
    return Worker(settings, profile, Store(engine, profile))


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def process_child() -> None:
    """Entry point of one extra processing process (``--workers N``)."""
    stop = stop_on_signals()
    build_worker().run_forever(stop, ROLES["process"])


@cli.command()
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
    """One pass; a summary on stdout; exit 3 when something needs staff (see ``intake.runreport``)."""
    from sqlalchemy.exc import SQLAlchemyError

    from intake import mailbox as imap
    from intake import runreport

    try:
        summary = worker.run_once(stages)
    except imap.FolderNameError as exc:
        raise click.ClickException(
            f"IMAP: {exc}\nThis server cannot hold that folder name: change INTAKE_IMAP_FOLDER or the profile's "
            "poll_folders / [folders], then run again; nothing was lost."
        ) from exc
    except (imap.MailboxError, imap.IMAPClientError, OSError) as exc:
        raise click.ClickException(
            f"IMAP: {exc}\nCheck INTAKE_IMAP_HOST/PORT/SSL and the password (NetEase: the 授权码), then run again; "
            "nothing was lost, the next run resumes where this one stopped."
        ) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"Database: {str(exc).splitlines()[0]}\nCheck INTAKE_DB_URL and that the database is up, then run "
            "again; nothing was lost, the next run resumes where this one stopped."
        ) from exc
    get_logger("intake.cli").info(
        "run.done", fetched=summary.fetched, decided=dict(summary.decided), sent=summary.sent,
        send_failed=summary.send_failed, filed=summary.filed, file_failed=summary.file_failed,
        errors=summary.errors)
    text, code = runreport.render(summary, runreport.ledger_attention(worker.store.engine),
                                  worker.profile.folders)
    click.echo(text)
    sys.exit(int(code))


@cli.command()
def health() -> None:
    """Check the mailbox and the ledger; print JSON; exit 1 when something is down."""
    import json

    from intake.health import check

    report = check(settings_or_exit())
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["ok"]:
        sys.exit(1)


def _register_plugins() -> None:
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(cli)


_register_plugins()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
