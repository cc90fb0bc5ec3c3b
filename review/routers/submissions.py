"""提交列表 and 提交详情: the list (filters, search, sorting), one submission beside its
original pages, and the pictures of those pages with cells and seals outlined."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from domain.rules import DEFAULT_COLUMNS, UNIT_COLUMN
from intake.pipeline import documents
from ledger.store import reason_from_json
from review import pages, queries
from review.auth import StaffMember
from review.site import Site, SiteDep
from templates import say, text

router = APIRouter()

NOTICES = {notice: text(f"staff.notice.{notice}") for notice in ("corrected", "accepted", "rejected")}


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _reply_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def _reply_headers(raw: bytes) -> dict[str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return {k: str(msg.get(k, "")) for k in ("Subject", "To", "Date", "X-Intake-Decision", "X-Intake-Reasons")}


@router.get("/submissions", response_class=HTMLResponse)
async def submissions(request: Request, site: SiteDep):
    member = site.staff(request)
    q = request.query_params
    try:
        page_no = int(q.get("page", "1"))
    except ValueError:
        page_no = 1
    filters = queries.Filters(
        decision=q.get("decision", ""), reason=q.get("reason", ""), unit=q.get("unit", ""),
        city=q.get("city", ""), kind=q.get("kind", ""), date_from=_parse_date(q.get("from")),
        date_to=_parse_date(q.get("to")), sort=q.get("sort", "received") if q.get("sort") in queries.SORTS else "received",
        descending=q.get("dir", "desc") != "asc", page=page_no, include_superseded=q.get("all") == "1")
    listing = queries.list_submissions(site.engine, site.profile, filters)
    base = {k: v for k, v in q.items() if k not in ("page", "sort", "dir") and v}

    def link(**changes) -> str:
        params = {**base, "sort": filters.sort, "dir": "desc" if filters.descending else "asc", **changes}
        return "/submissions?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    return site.html(request, "list.html", staff=member, listing=listing, f=filters, q=q, link=link,
                     cities=queries.cities(site.engine), nav="list")


def problem_rows(detail: queries.Detail) -> set[int]:
    rows = {r["row"] for r in detail.reasons if r.get("row") is not None}
    return rows | {l.row for l in detail.lines if not l.confident}


def show_detail(site: Site, request: Request, member: StaffMember, submission_id: int, *, error: str = "",
                notice: str = "", status: int = 200) -> HTMLResponse:
    """The detail page (also after a refused correction or decision, with its error)."""
    detail = queries.submission_detail(site.engine, submission_id)
    if detail is None:
        return site.html(request, "message.html", status=404, staff=member, title=text("staff.missing.title"),
                         text=say("staff.submission.missing", id=submission_id), link="/submissions")
    try:
        envelope = site.envelope_of(detail.message)
        refs = pages.page_refs(envelope)
        attachments = list(enumerate(documents(envelope)))
        original_error = ""
    except OSError as exc:
        envelope, refs, attachments = None, [], []
        original_error = say("staff.original.unreadable.error", error=exc)
    replies = [(r, _reply_headers(r.raw), _reply_text(r.raw)) for r in detail.replies]
    reasons = [reason_from_json(r) for r in detail.reasons]
    marks = "-".join(map(str, sorted(problem_rows(detail)))) or "none"
    headers = {**DEFAULT_COLUMNS.get(detail.submission.kind, {})}
    try:
        headers.update(site.profile.form(detail.submission.kind).column_names())
    except KeyError:
        pass
    field_of = {header: name for name, header in headers.items()}
    bad_cells = {(r.row, field_of[r.column]) for r in reasons if r.row is not None and r.column in field_of}
    unit_flagged = any(r.column == UNIT_COLUMN for r in reasons)
    return site.html(request, "detail.html", status=status, staff=member, d=detail, refs=refs, marks=marks,
                     bad_cells=bad_cells, unit_flagged=unit_flagged, attachments=attachments, replies=replies,
                     reasons=reasons, problems=problem_rows(detail), error=error or original_error, notice=notice,
                     nav="list", reviewable=detail.submission.decision == "review")


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
async def submission(request: Request, site: SiteDep, submission_id: int, notice: str = ""):
    member = site.staff(request)
    return show_detail(site, request, member, submission_id, notice=NOTICES.get(notice, ""))


@router.get("/submissions/{submission_id}/pages/{attachment}/{page_no}.png")
async def page_image(request: Request, site: SiteDep, submission_id: int, attachment: int, page_no: int):
    site.staff(request)
    detail = queries.submission_detail(site.engine, submission_id)
    if detail is None:
        raise HTTPException(404)
    try:
        png = pages.page_png(site.envelope_of(detail.message), attachment, page_no, problem_rows(detail),
                             site.cache_dir)
    except (LookupError, OSError) as exc:
        raise HTTPException(404, str(exc)) from exc
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
