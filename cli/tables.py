"""The office's tables in and out: ``intake units|catalog|quotas import FILE``, ``intake ledger export``.

Messages are for office staff, in their words (``templates/cli.txt``); a bad file exits
with status 1 and lists every problem as ``file:row:column: 说明`` (``cli.errors`` prints them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from cli import loader
from cli.errors import Group
from config.profile import ProfileError
from ledger.export import OFFICE_ZONE, collect, write_json, write_xlsx
from ledger.imports import ImportSummary, import_catalog, import_quotas, import_units
from templates import say, text

PROGRESS_FROM_ROWS = 200  # smaller files finish before a bar is worth drawing
KIND_NAMES = {kind: text(f"cli.table.{kind}") for kind in ("units", "catalog", "quotas")}


class _ProgressBar:
    """A rich progress bar, drawn only for big files."""

    def __init__(self, label: str):
        self.label, self.progress, self.task = label, None, None

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_FROM_ROWS:
            return
        if self.progress is None:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _run_import(kind: str, do_import: Callable[..., ImportSummary], file: Path) -> None:
    engine = loader.ledger(loader.settings())
    bar = _ProgressBar(say("cli.import.progress", table=KIND_NAMES[kind]))
    try:
        summary = do_import(engine, file, progress=bar)  # a bad file: ImportFileError, nothing imported
    finally:
        bar.close()
        engine.dispose()
    for warning in summary.warnings:  # imported, but worth a look (e.g. a unit type no table knows)
        click.echo(say("cli.import.warning", warning=warning), err=True)
    warnings = say("cli.import.warnings", count=len(summary.warnings)) if summary.warnings else ""
    click.echo(say("cli.import.done", table=KIND_NAMES[kind], source=summary.source, rows=summary.rows,
                   created=summary.created, updated=summary.updated, unchanged=summary.unchanged,
                   warnings=warnings))


def _import_group(kind: str, do_import) -> click.Group:
    @click.group(name=kind, help=text(f"cli.table.{kind}.help"), cls=Group)
    def group() -> None:
        pass

    @group.command(name="import", help=say("cli.import.help", table=KIND_NAMES[kind]))
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
    def import_command(file: Path) -> None:
        _run_import(kind, do_import, file)

    return group


units = _import_group("units", import_units)
catalog = _import_group("catalog", import_catalog)
quotas = _import_group("quotas", import_quotas)


@click.group(name="ledger", help=text("cli.ledger.help"), cls=Group)
def ledger() -> None:
    pass


@ledger.command(name="export", help=text("cli.export.help"))
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
def export(fmt: str, output: Path) -> None:
    settings = loader.settings()
    engine = loader.ledger(settings)
    try:
        zone = loader.profile(settings).timezone
    except ProfileError:  # an export still works without a profile: times in the office's zone
        zone = OFFICE_ZONE
    try:
        data = collect(engine)
    finally:
        engine.dispose()
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        write_json(data, output, zone)
        click.echo(say("cli.export.json", path=output, submissions=len(data.submissions), quotas=len(data.quotas)))
    else:
        sheets = write_xlsx(data, output, zone)
        click.echo(say("cli.export.xlsx", path=output, sheets="、".join(sheets)))
