"""Engines and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ledger.db import DatabaseError, connect, current_revision, head_revision, migrate
from ledger.models import Base, Event, Unit


def test_migrate_creates_the_schema_and_is_idempotent(ledger_url):
    engine = connect(ledger_url)
    assert current_revision(engine) is None
    migrate(engine)
    migrate(engine)  # a second run changes nothing and does not fail
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert {"units", "certificates", "quotas", "quota_changes", "messages", "message_locations",
            "submissions", "submission_lines", "replies", "events"} <= names
    engine.dispose()


def test_migrations_match_the_models(ledger_engine):
    with ledger_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = connect(f"sqlite:///{tmp_path / 'sub' / 'ledger.sqlite3'}")  # parent dir is created
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_foreign_keys_are_enforced(ledger_engine):
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO quotas (year, unit_id, certificate_id, level, approved, updated_at) "
            "VALUES (2025, 999, 999, '初级', 5, CURRENT_TIMESTAMP)"))


def test_datetimes_come_back_aware_in_utc(ledger_engine):
    shanghai = timezone(timedelta(hours=8))
    with ledger_engine.begin() as conn:
        conn.execute(sa.insert(Unit).values(name="安徽职业技术学院", type="高职", city="合肥市", aliases=[],
                                            contacts=[], updated_at=datetime(2025, 3, 14, 9, 30, tzinfo=shanghai)))
    with ledger_engine.connect() as conn:
        stored = conn.execute(sa.select(Unit.updated_at)).scalar_one()
    assert stored == datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(ledger_engine):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), ledger_engine.begin() as conn:
        conn.execute(sa.insert(Unit).values(name="x", type="", city="", aliases=[], contacts=[],
                                            updated_at=datetime(2025, 1, 1)))


def test_events_are_append_only(ledger_engine):
    with ledger_engine.begin() as conn:
        conn.execute(sa.insert(Event).values(actor="import", action="test", subject="s", detail={"a": 1},
                                             at=datetime.now(UTC)))
    for statement in (sa.update(Event).values(actor="staff:mallory"), sa.delete(Event)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), ledger_engine.begin() as conn:
            conn.execute(statement)
    with ledger_engine.connect() as conn:
        assert conn.execute(sa.select(Event.actor)).scalars().all() == ["import"]


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_unsupported_urls_are_explained(url):
    with pytest.raises(DatabaseError, match="INTAKE_DB_URL"):
        connect(url)


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path):
    import threading

    from ledger.store import Store

    engine = connect(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    migrate(engine)
    with engine.begin() as writer:  # the worker, mid-transaction, holding the write lock
        writer.execute(sa.insert(Unit).values(name="安徽大学", type="本科", city="合肥市", aliases=[], contacts=[],
                                              updated_at=datetime.now(UTC)))
        seen = []
        thread = threading.Thread(target=lambda: seen.append(Store(engine).snapshot().units))
        thread.start()
        thread.join(timeout=5)  # a write transaction would wait up to the 30 s busy timeout
        assert not thread.is_alive() and seen == [()]  # the uncommitted unit is not visible
    assert Store(engine).snapshot().units[0].name == "安徽大学"
    engine.dispose()


def test_workers_starting_together_migrate_once(ledger_url):
    import threading

    engines = [connect(ledger_url) for _ in range(3)]
    barrier, errors = threading.Barrier(3), []

    def start(engine):
        barrier.wait()
        try:
            migrate(engine)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert current_revision(engines[0]) == head_revision()
    for engine in engines:
        engine.dispose()
