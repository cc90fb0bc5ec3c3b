"""``GET /quotas``: 指标 — approved quotas with their history (imports, accepted increases)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from review import queries
from review.site import SiteDep

router = APIRouter()


@router.get("/quotas", response_class=HTMLResponse)
async def quota_page(request: Request, site: SiteDep, unit: str = "", changed: str = ""):
    member = site.staff(request)
    rows = queries.quotas(site.engine, unit, only_changed=changed == "1")
    return site.html(request, "quotas.html", staff=member, rows=rows, unit=unit, changed=changed == "1",
                     nav="quotas")
