"""The export downloads: ``ledger.export`` (the ledger's own exporter) into a temporary file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from templates import say


class ExportUnavailable(Exception):
    """The exporter is not installed; the message (``staff.export.unavailable``) says what to do."""


def export_bytes(engine: sa.Engine, fmt: str, zone: ZoneInfo | None = None) -> bytes:
    """The ledger export in ``fmt`` (json | xlsx), exactly what ``intake ledger export`` writes."""
    try:
        from ledger import export
    except ModuleNotFoundError as exc:
        raise ExportUnavailable(say("staff.export.unavailable", module=exc.name)) from exc
    write = {"json": export.write_json, "xlsx": export.write_xlsx}[fmt]
    data = export.collect(engine)
    with tempfile.TemporaryDirectory(prefix="intake-export-") as tmp:
        path = Path(tmp) / f"ledger.{fmt}"
        if zone is None:
            write(data, path)
        else:
            write(data, path, zone)
        return path.read_bytes()
