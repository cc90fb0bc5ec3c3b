"""A throw-away PostgreSQL cluster: initdb + pg_ctl from Debian's server on a free loopback port.

``running_postgres()`` starts one (data in a temporary directory) and removes it afterwards;
the tests' ``postgres_server`` fixture starts one per session, ``bench.throughput`` one per run.
``INTAKE_TEST_PG_BIN`` names the server binaries when Debian's are not where expected.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


def _pg_bin() -> Path:
    """Debian's server binaries: /usr/lib/postgresql/<major>/bin, the newest installed."""
    if os.environ.get("INTAKE_TEST_PG_BIN"):
        return Path(os.environ["INTAKE_TEST_PG_BIN"])
    majors = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parts[-3].isdigit()]
    found = sorted(majors, key=lambda bin_dir: int(bin_dir.parts[-2]))
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
PG_USER = "postgres"


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (empty, or a copy of ``template``) and return its URL."""
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    finally:
        admin.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@dataclass(frozen=True)
class PostgresServer:
    admin_url: str  # a URL to the maintenance database, as a superuser
    _counter: itertools.count

    def fresh_database(self, template: str | None = None) -> str:
        """Create an empty database (or a copy of ``template``) and return its URL."""
        return create_database(self.admin_url, f"ledger_test_{os.getpid()}_{next(self._counter)}", template)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the tests may run as root in containers.
    return ["runuser", "-u", PG_USER, "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], timeout: float = 60) -> None:
    done = subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class RunningPostgres:
    url: str  # the maintenance database, as superuser
    data: Path

    def restart(self) -> None:
        """What an operator's restart (or a crash and recovery) looks like to clients."""
        # -l again: without it the new server would hold our captured stdout open.
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent / "log"),
              "-m", "fast", "-w", "-t", "60", "restart"])

    def database(self, name: str) -> str:
        return create_database(self.url, name)


@contextmanager
def running_postgres() -> Iterator[RunningPostgres]:
    """Start a throw-away PostgreSQL cluster on a free loopback port."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL binaries not found in {PG_BIN}: install Debian's server "
            "(apt-get install -y postgresql), or set INTAKE_TEST_PG_BIN or INTAKE_TEST_PG_URL"
        )
    base = Path(tempfile.mkdtemp(prefix="intake-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, PG_USER)
    data, sockets = base / "data", base / "sock"
    port = _free_port()
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        (base / "sock").mkdir()
        if os.geteuid() == 0:
            shutil.chown(sockets, PG_USER)
        options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
              "-w", "-t", "60", "start"])
        yield RunningPostgres(f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres", data)
    finally:
        if (data / "postmaster.pid").exists():
            _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)
