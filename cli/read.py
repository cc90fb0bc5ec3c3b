"""``intake read FILE [--json] [--profile NAME]``: the form reader on its own.

No mail, no ledger, no settings: certificate names are matched against the bundled
public catalogue. Staff use it to try a file; the benchmark uses it to measure the reader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from cli.errors import Command
from config.profile import load_profile
from domain.forms import (
    DocumentReading,
    IncreaseForm,
    IncreaseLine,
    PageReading,
    SummaryForm,
)
from parsers.catalog import bundled_certificates
from parsers.errors import ReaderError
from templates import say, text

PAGE_KINDS = ("summary", "increase", "application", "unknown")


def page_json(page: PageReading) -> dict:
    """One page in the contract's shape: the export's lines plus ``confident`` per line."""
    out: dict = {"page": page.index + 1, "kind": page.kind, "source": page.source}
    form = page.form
    if form is not None:
        out.update(unit=form.unit, unit_confident=form.unit_confident, stamp=form.stamp,
                   stamp_confident=form.stamp_confident)
    if isinstance(form, SummaryForm):
        out.update(
            total=form.total,
            total_confident=form.total_confident,
            table_confident=form.table_confident,
            lines=[
                {"certificate": l.certificate, "level": l.level, "count": l.count, "confident": l.confident}
                for l in form.lines
            ],
        )
    elif isinstance(form, IncreaseForm):
        out.update(
            total=None,
            table_confident=form.table_confident,
            lines=[
                {
                    "certificate": l.certificate,
                    "level": l.level,
                    "approved": l.approved,
                    "requested": l.requested,
                    "confident": l.confident,
                }
                for l in form.lines
            ],
        )
    out["notes"] = list(page.notes)
    return out


def reading_json(reading: DocumentReading) -> dict:
    return {"file": reading.filename, "pages": [page_json(p) for p in reading.pages]}


def _mark(confident: bool) -> str:
    return "" if confident else "  " + text("cli.read.unsure")


def _print_text(reading: DocumentReading) -> None:
    for page in reading.pages:
        kind = text(f"cli.read.kind.{page.kind}") if page.kind in PAGE_KINDS else page.kind
        source = text("cli.read.source.text" if page.source == "text" else "cli.read.source.ocr")
        click.echo(say("cli.read.page", number=page.index + 1, kind=kind, source=source))
        form = page.form
        if form is not None:
            click.echo("  " + say("cli.read.unit", unit=form.unit or text("cli.read.not_read"),
                                  mark=_mark(form.unit_confident)))
            stamp = text("cli.read.stamp.yes" if form.stamp else "cli.read.stamp.no")
            click.echo("  " + say("cli.read.stamp", stamp=stamp, mark=_mark(form.stamp_confident)))
            for line in form.lines:
                if isinstance(line, IncreaseLine):
                    numbers = say("cli.read.increase", approved=line.approved, requested=line.requested)
                else:
                    numbers = say("cli.read.count", count=line.count)
                click.echo(f"  {line.row:>3}. {line.certificate} | {line.level} | {numbers}{_mark(line.confident)}")
            if isinstance(form, SummaryForm):
                total = form.total if form.total is not None else text("cli.read.not_read")
                click.echo("  " + say("cli.read.total", total=total, mark=_mark(form.total_confident)))
        for note in page.notes:
            click.echo("  " + say("cli.read.note", note=note))


@click.command("read", cls=Command)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the reading as JSON (the outside contract).")
@click.option(
    "--profile",
    "profile_name",
    default=lambda: os.environ.get("INTAKE_PROFILE", "anhui-2025"),
    show_default="INTAKE_PROFILE or anhui-2025",
    help="Province profile (id or path to a TOML file): which forms and columns to expect.",
)
def read_command(file: Path, as_json: bool, profile_name: str) -> None:
    """Read one attachment (PDF or image) and print what the reader sees."""
    from parsers.reader import read_attachment

    profile = load_profile(profile_name)
    try:
        reading = read_attachment(
            file.read_bytes(), file.name, profile=profile, certificates=bundled_certificates()
        )
    except ReaderError as exc:  # exit status and the line on stderr: cli.errors
        if as_json:
            click.echo(json.dumps({"file": file.name, "error": "attachment.unreadable", "message": str(exc)}, ensure_ascii=False))
        raise
    if as_json:
        click.echo(json.dumps(reading_json(reading), ensure_ascii=False, indent=1))
    else:
        _print_text(reading)
