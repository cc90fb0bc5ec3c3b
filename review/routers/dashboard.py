"""``GET /``: 总览 — counts, days left, units not heard from, submissions per day."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from review import charts, queries
from review.site import SiteDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, site: SiteDep):
    member = site.staff(request)
    now = site.clock()
    board = queries.dashboard(site.engine, site.profile, now)
    chart = charts.bars_per_day(board.per_day, today=now.astimezone(site.profile.timezone).date())
    return site.html(request, "dashboard.html", staff=member, board=board, chart=chart, nav="dashboard")
