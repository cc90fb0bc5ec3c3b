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


def page_json(page: PageReading) -> dict:
    """One page in the contract's shape: the export's lines plus ``confident`` per line."""
    out: dict = {"page": page.index + 1, "kind": page.kind, "source": page.source}
    form = page.form
    if isinstance(form, SummaryForm):
        out.update(
            unit=form.unit,
            unit_confident=form.unit_confident,
            stamp=form.stamp,
            stamp_confident=form.stamp_confident,
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
            unit=form.unit,
            unit_confident=form.unit_confident,
            stamp=form.stamp,
            stamp_confident=form.stamp_confident,
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
    return "" if confident else "  [待核对]"


def _print_text(reading: DocumentReading) -> None:
    kinds = {"summary": "申报学校汇总表", "increase": "指标调增申请表", "application": "申报表（附件）", "unknown": "无法识别的页面"}
    for page in reading.pages:
        click.echo(f"第 {page.index + 1} 页：{kinds.get(page.kind, page.kind)}（{'文字层' if page.source == 'text' else 'OCR'}）")
        form = page.form
        if form is not None:
            click.echo(f"  学校名称：{form.unit or '（未读到）'}{_mark(form.unit_confident)}")
            click.echo(f"  校章：{'有' if form.stamp else '未发现'}{_mark(form.stamp_confident)}")
            for line in form.lines:
                if isinstance(line, IncreaseLine):
                    numbers = f"原批准 {line.approved}  调增后 {line.requested}"
                else:
                    numbers = f"{line.count} 人"
                click.echo(f"  {line.row:>3}. {line.certificate} | {line.level} | {numbers}{_mark(line.confident)}")
            if isinstance(form, SummaryForm):
                click.echo(f"  合计：{form.total if form.total is not None else '（未读到）'}{_mark(form.total_confident)}")
        for note in page.notes:
            click.echo(f"  说明：{note}")


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
