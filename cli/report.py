"""``intake report --season [-o DIR] [--profile NAME]``: the department's season summary, xlsx and PDF.

The figures are ``ledger.season``'s, the same as the review site's dashboard. What the
command prints is ``templates/cli.txt``'s (``report.*``); an empty ledger or a directory
it cannot write to ends with exit status 1 and what to do (``REPORT_RULES``, applied as
``cli.errors`` applies ``MAP``); a missing Chinese font names the package to install.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli import loader
from cli.errors import Command, ExitCode, Rule, mapped
from config.profile import load_profile
from ledger.season import EmptyLedger, read_season
from ledger.season_pdf import NoChineseFont, register_font, write_pdf
from ledger.season_workbook import write_workbook
from templates import say, text


def _empty(error: BaseException, _: Mapping[str, Any]) -> str:
    return text(f"cli.report.empty.{error.missing}")  # type: ignore[attr-defined]


def _unwritable(error: BaseException, params: Mapping[str, Any]) -> str:
    return say("cli.report.unwritable", directory=params["output"], error=error)


def _no_font(error: BaseException, _: Mapping[str, Any]) -> str:
    return f"{error}, then run the report again."


REPORT_RULES: tuple[Rule, ...] = (
    Rule((EmptyLedger,), ExitCode.FAILED, _empty),
    Rule((NoChineseFont,), ExitCode.FAILED, _no_font),
    Rule((OSError,), ExitCode.FAILED, _unwritable),  # only while the files are written
)


@click.command("report", cls=Command, help=text("cli.report.help"))
@click.option("--season", is_flag=True, help=text("cli.report.season.help"))
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help=text("cli.report.output.help"))
@click.option("--profile", "profile_name", default=None, help=text("cli.report.profile.help"))
def report(season: bool, output: Path, profile_name: str | None) -> None:
    if not season:
        raise click.UsageError(text("cli.report.which"))
    settings = loader.settings()
    profile = load_profile(profile_name, settings.profile_dir) if profile_name else loader.profile(settings)
    with mapped(REPORT_RULES[1:2]):
        register_font()  # before anything is written
    engine = loader.ledger(settings)
    click.echo(text("cli.report.reading"), err=True)
    try:
        with mapped(REPORT_RULES[:1]):
            figures = read_season(engine, profile, text("report.no_city"))
    finally:
        engine.dispose()
    made_at = datetime.now(UTC).replace(microsecond=0)
    name = say("report.file", province=profile.province, year=profile.year)
    xlsx, pdf = output / f"{name}.xlsx", output / f"{name}.pdf"
    with mapped(REPORT_RULES, {"output": output}):
        output.mkdir(parents=True, exist_ok=True)
        click.echo(say("cli.report.writing", path=xlsx), err=True)
        sheets = write_workbook(figures, profile, xlsx, made_at)
        click.echo(say("cli.report.writing", path=pdf), err=True)
        pages = write_pdf(figures, profile, pdf, made_at)
    t = figures.tallies
    click.echo(say("cli.report.done", xlsx=xlsx, sheets=len(sheets), pdf=pdf, pages=pages,
                   units=figures.units_total, submissions=t.submissions, accepted=t.by_decision.get("accepted", 0),
                   rejected=t.by_decision.get("rejected", 0), review=t.by_decision.get("review", 0),
                   planned=sum(c.planned_total for c in figures.cities), increases=figures.increases))
