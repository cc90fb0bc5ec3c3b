"""Database engines and migrations.

SQLite is the default (one file, WAL so readers never block the writer); PostgreSQL
is for several workers on several machines. Both get the same schema from the same
Alembic migrations, which ship inside the package and run programmatically.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x1F1A7E  # PostgreSQL advisory lock key held while migrating
READ_ONLY = "intake_read_only"  # execution option: a transaction that only reads


def reader(engine: sa.Engine) -> sa.Engine:
    """The same database for transactions that only read (no write lock on SQLite)."""
    return engine.execution_options(**{READ_ONLY: True})


class DatabaseError(Exception):
    """The ledger database cannot be used; the message says what to do."""


def connect(url: str) -> sa.Engine:
    """An engine for ``url``: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        shown = url.split("://", 1)[0] + "://…" if "://" in url else "(no scheme)"  # may hold a password
        raise DatabaseError(f"INTAKE_DB_URL: not a database URL: {shown}; "
                            "use sqlite:///path/ledger.sqlite3 or postgresql://user@host/db") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True, future=True)
    raise DatabaseError(
        f"INTAKE_DB_URL: unsupported database {parsed.get_backend_name()!r}; "
        "use sqlite:///path/ledger.sqlite3 or postgresql://user@host/db"
    )


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite so that BEGIN IMMEDIATE below is
        # the only BEGIN: a write transaction then holds the write lock from its first
        # read, which is what makes read-check-write sequences safe between processes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Readers (exports, the review pages, snapshots) take no lock: WAL gives them a
        # consistent snapshot while the worker writes.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _enable_wal(cursor, attempts: int = 100) -> None:
    """Switch a new database to WAL. SQLite answers "locked" at once, without waiting for
    the busy timeout, when two connections switch together (workers starting at once)."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def alembic_config(engine: sa.Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers may start at once: one migrates, the others wait and find
            # the schema at head. (SQLite: BEGIN IMMEDIATE already serialises them.)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
