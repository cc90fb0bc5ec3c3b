"""The ``intake`` console script: every command, attached here in plain sight.

The commands live by area (``run``: the worker and its health; ``tables``: imports and
the ledger export; ``read``: the form reader alone; ``report``: the season report;
``web``: the review page and its staff). Each starts through ``cli.loader`` and ends its
typed errors through ``cli.errors``, which also holds the exit codes.
"""

from __future__ import annotations

import sys

import click

from cli import read, report, run, tables, web
from cli.errors import ExitCode, Group


@click.group(cls=Group)
def cli() -> None:
    """1+X Intake: reads the applications mailbox, keeps the ledger, replies to schools."""


cli.add_command(run.run)
cli.add_command(run.health)
cli.add_command(tables.units)
cli.add_command(tables.catalog)
cli.add_command(tables.quotas)
cli.add_command(tables.ledger)
cli.add_command(read.read_command)
cli.add_command(report.report)
cli.add_command(web.review)
cli.add_command(web.staff)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    main()
