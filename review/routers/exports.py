"""导出: the page with the recent downloads, and the ledger export itself (json, xlsx),
exactly what ``intake ledger export`` writes (``review.exports``)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from ledger.models import Event
from review.exports import ExportUnavailable, export_bytes
from review.site import SiteDep, download
from templates import say, text

router = APIRouter()


@router.get("/exports", response_class=HTMLResponse)
async def exports_page(request: Request, site: SiteDep):
    member = site.staff(request)
    with Session(site.engine) as s:
        recent = list(s.execute(sa.select(Event).where(Event.action == "staff.exported")
                                .order_by(Event.id.desc()).limit(10)).scalars())
    return site.html(request, "exports.html", staff=member, recent=recent, nav="exports")


@router.get("/exports/ledger.{fmt}")
async def export_file(request: Request, site: SiteDep, fmt: str):
    member = site.staff(request)
    if fmt not in ("json", "xlsx"):
        raise HTTPException(404)
    try:
        data = export_bytes(site.engine, fmt, site.profile.timezone)
    except ExportUnavailable as exc:
        return site.html(request, "message.html", status=503, staff=member,
                         title=text("staff.export.unavailable.title"), text=str(exc), link="/exports")
    site.store.log_event(member.actor, "staff.exported", "ledger", {"format": fmt, "bytes": len(data)})
    stamp = site.clock().astimezone(site.profile.timezone).strftime("%Y%m%d-%H%M")
    media = "application/json" if fmt == "json" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return download(data, say("staff.export.filename", profile=site.profile.id, stamp=stamp, format=fmt), media)
