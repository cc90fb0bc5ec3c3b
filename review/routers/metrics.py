"""``GET /metrics``: Prometheus text, counts only, so it needs no login (``review.metrics``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from review import metrics
from review.site import SiteDep

router = APIRouter()


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus_metrics(site: SiteDep):
    return PlainTextResponse(metrics.render(site.engine, site.clock()), media_type="text/plain; version=0.0.4")
