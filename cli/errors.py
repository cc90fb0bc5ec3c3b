"""Exit codes, and the one map from typed errors to an exit code and a message saying what to do.

OCRmyPDF's ``ExitCode`` is the model: the packages below raise typed errors that know
nothing of the command line (``SettingsError``, ``ProfileError``, ``db.DatabaseError``,
``MailboxError``, ``ImportFileError``, ``ReaderError``, ``StaffError``); here, and only
here, each becomes an exit status and the few lines an operator reads. Every command
is a ``Command`` (through ``Group``), whose ``invoke`` applies ``MAP``, so no command
catches these errors itself.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from config.profile import ProfileError
from config.settings import SettingsError
from intake import mailbox as imap
from ledger import db
from ledger.tabular import ImportFileError
from parsers.errors import ReaderError
from review.auth import StaffError
from templates import say


class ExitCode(enum.IntEnum):
    """What ``intake``'s exit status means, for cron, systemd and scripts."""

    OK = 0
    FAILED = 1  # could not do it: a setting, the profile, the database, the mailbox, a file to import; click's own code
    USAGE = 2  # a bad command line (click's code)
    UNREADABLE = 2  # ``intake read``: the file cannot be read (OCRmyPDF's input_file); same number as USAGE
    NEEDS_STAFF = 3  # ``intake run --once`` finished, but something needs a person
    INTERRUPTED = 130  # Ctrl+C outside a command


Params = Mapping[str, Any]  # the command's parsed parameters, so a message can name the file it was given


@dataclass(frozen=True)
class Rule:
    """Errors of ``types`` end with ``code`` and ``say(error, params)``.

    ``plain`` messages are printed as they are; the others as click prints its own
    errors (``Error: …``).
    """

    types: tuple[type[BaseException], ...]
    code: ExitCode
    say: Callable[[BaseException, Params], str]
    plain: bool = False


class Failure(click.ClickException):
    """A mapped error on its way out: click prints it and exits with its code."""

    def __init__(self, code: ExitCode, message: str, plain: bool = False):
        super().__init__(message)
        self.exit_code = int(code)
        self.plain = plain

    def show(self, file: Any = None) -> None:
        if not self.plain:
            super().show(file)
        elif file is None:
            click.echo(self.format_message(), err=True)
        else:
            click.echo(self.format_message(), file=file)


def _as_is(error: BaseException, _: Params) -> str:
    return str(error)


def _settings(error: BaseException, _: Params) -> str:
    return f"{error}\nFix the variable (or the settings file) and start again."


def _folder_name(error: BaseException, _: Params) -> str:
    return (f"IMAP: {error}\nThis server cannot hold that folder name: change INTAKE_IMAP_FOLDER or the profile's "
            "poll_folders / [folders], then run again; nothing was lost.")


def _mailbox(error: BaseException, _: Params) -> str:
    return (f"IMAP: {error}\nCheck INTAKE_IMAP_HOST/PORT/SSL and the password (NetEase: the 授权码), then run again; "
            "nothing was lost, the next run resumes where this one stopped.")


def _database(error: BaseException, _: Params) -> str:
    return (f"Database: {str(error).splitlines()[0]}\nCheck INTAKE_DB_URL and that the database is up, then run "
            "again; nothing was lost, the next run resumes where this one stopped.")


def _import_file(error: BaseException, params: Params) -> str:
    problems = error.problems  # type: ignore[attr-defined]  # every one, not only the 50 of str(error)
    closing = say("cli.import.failed", file=params["file"].name, count=len(problems))
    return "\n".join([*problems, closing])


def _unreadable(error: BaseException, params: Params) -> str:
    return f"{params['file'].name}: {error}"


# Our typed errors, wherever a command meets them. First match wins: subclasses first.
MAP: tuple[Rule, ...] = (
    Rule((SettingsError,), ExitCode.FAILED, _settings),
    Rule((ProfileError,), ExitCode.FAILED, _as_is),
    Rule((db.DatabaseError,), ExitCode.FAILED, _as_is),
    Rule((imap.FolderNameError,), ExitCode.FAILED, _folder_name),
    Rule((imap.MailboxError,), ExitCode.FAILED, _mailbox),
    Rule((ImportFileError,), ExitCode.FAILED, _import_file, plain=True),
    Rule((ReaderError,), ExitCode.UNREADABLE, _unreadable, plain=True),
    Rule((StaffError,), ExitCode.FAILED, _as_is),
)

# Untyped errors that mean the mailbox or the database went away, but only while the
# worker makes its pass (``intake run --once``): elsewhere an OSError is no IMAP problem.
WHILE_RUNNING: tuple[Rule, ...] = (
    Rule((imap.IMAPClientError, OSError), ExitCode.FAILED, _mailbox),
    Rule((SQLAlchemyError,), ExitCode.FAILED, _database),
)


@contextmanager
def mapped(rules: Sequence[Rule] = MAP, params: Params | None = None) -> Iterator[None]:
    """Turn an error ``rules`` know into a ``Failure``; let anything else through untouched."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as error:
        for rule in rules:
            if isinstance(error, rule.types):
                raise Failure(rule.code, rule.say(error, params or {}), rule.plain) from error
        raise


class Command(click.Command):
    """A command whose typed errors end through ``MAP``."""

    def invoke(self, ctx: click.Context) -> Any:
        with mapped(MAP, ctx.params):
            return super().invoke(ctx)


class Group(click.Group):
    """A group whose commands and sub-groups are ``Command`` and ``Group``."""

    command_class = Command
    group_class = type  # sub-groups of the same kind
