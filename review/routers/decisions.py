"""What staff do on 提交详情: correct values read from the form, then 通过 / 退回
(``review.decisions``: one transaction each, one follow-up reply queued)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from review.decisions import CellChange, ReviewError, correct, decide
from review.routers.submissions import show_detail
from review.site import SiteDep
from templates import text

router = APIRouter()


def cell_changes(form: dict[str, str]) -> list[CellChange]:
    changes = []
    for key, value in form.items():
        if key in ("total", "unit"):
            changes.append(CellChange(None, key, value))
        elif key.startswith("line-"):
            _, line_id, field = key.split("-", 2)
            if line_id.isdigit():
                changes.append(CellChange(int(line_id), field, value))
    return changes


@router.post("/submissions/{submission_id}/correct")
async def correct_cells(request: Request, site: SiteDep, submission_id: int):
    form = await site.checked_form(request)
    member = site.staff(request)
    try:
        correct(site.engine, site.profile, submission_id, cell_changes(form), staff=member.name,
                state=site.store.snapshot())
    except ReviewError as exc:
        return show_detail(site, request, member, submission_id, error=str(exc), status=400)
    return RedirectResponse(f"/submissions/{submission_id}?notice=corrected", status_code=303)


@router.post("/submissions/{submission_id}/decide")
async def decide_submission(request: Request, site: SiteDep, submission_id: int):
    form = await site.checked_form(request)
    member = site.staff(request)
    outcome = form.get("outcome", "")
    if outcome not in ("accepted", "rejected"):
        return show_detail(site, request, member, submission_id, error=text("staff.decide.choose"), status=400)
    try:
        # Values edited but not saved separately count: the decision is on what staff see.
        changes = cell_changes(form)
        if changes:
            correct(site.engine, site.profile, submission_id, changes, staff=member.name,
                    state=site.store.snapshot(), require_change=False)
        decide(site.engine, site.profile, submission_id, outcome, staff=member.name, note=form.get("note", ""),
               from_addr=site.settings.from_address or site.profile.mailbox, data_dir=site.settings.data_dir,
               now=site.clock())
    except ReviewError as exc:
        return show_detail(site, request, member, submission_id, error=str(exc), status=409)
    return RedirectResponse(f"/submissions/{submission_id}?notice={outcome}", status_code=303)
