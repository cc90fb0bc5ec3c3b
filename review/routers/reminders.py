"""催报: ``GET /reminders`` (every unit, the default selection ticked), ``POST /reminders/preview``
(the exact mails), ``POST /reminders/send`` (into the outbox); ``GET /units/{id}`` a unit's page
(addresses, bounces, reminders, its events).

The selection and the mails are ``ledger.reminders`` and ``intake.reminders``'s, the same the
worker's automatic run uses; a unit already reminded today, with no usable address or outside
its form's window is shown with the reason and never sent.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from intake import reminders
from ledger.reminders import Candidate, candidates, reminders_of, unit_by_id, unit_events
from review.site import Site, SiteDep
from templates import say, text

router = APIRouter()
STATES = {state: text(f"reminders.state.{state}") for state in ("none", "rejected", "review", "accepted")}
EVENTS = {action: text(f"reminders.event.{action}") for action in ("reminder.queued", "address.bounced")}


def _today(site: Site):
    return site.clock().astimezone(site.profile.timezone).date()


def _chosen(site: Site, form_units: list[str]) -> list[Candidate]:
    ids = {int(u) for u in form_units if u.isdigit()}
    return [c for c in candidates(site.engine, site.profile, _today(site)) if c.unit_id in ids]


def _page(site: Site, request: Request, member, **context) -> HTMLResponse:
    return site.html(request, "reminders.html", staff=member, nav="reminders", states=STATES,
                     rows=candidates(site.engine, site.profile, _today(site)), **context)


@router.get("/reminders", response_class=HTMLResponse)
async def reminder_list(request: Request, site: SiteDep):
    member = site.staff(request)
    return _page(site, request, member)


@router.post("/reminders/preview", response_class=HTMLResponse)
async def reminder_preview(request: Request, site: SiteDep):
    await site.checked_form(request)
    member = site.staff(request)
    chosen = _chosen(site, (await request.form()).getlist("unit"))
    if not chosen:
        return _page(site, request, member, error=text("reminders.notice.none"), status=400)
    today = _today(site)
    previews = [(c, reminders.render(c, site.profile, today) if c.sendable else None) for c in chosen]
    return site.html(request, "reminders.html", staff=member, nav="reminders", states=STATES, previews=previews)


@router.post("/reminders/send", response_class=HTMLResponse)
async def reminder_send(request: Request, site: SiteDep):
    await site.checked_form(request)
    member = site.staff(request)
    chosen = _chosen(site, (await request.form()).getlist("unit"))
    if not chosen:
        return _page(site, request, member, error=text("reminders.notice.none"), status=400)
    result = reminders.send_reminders(site.engine, site.profile, site.settings.from_address or site.profile.mailbox,
                                      [c.unit_id for c in chosen], site.clock(), member.actor)
    notices = [say("reminders.notice.queued", count=len(result.queued))]
    for key, units in (("already", result.already), ("no_address", result.no_address), ("closed", result.closed),
                       ("not_due", result.not_due)):
        if units:
            notices.append(say(f"reminders.notice.{key}", units=text("reminders.list.separator").join(units)))
    return _page(site, request, member, notices=notices)


@router.get("/units/{unit_id}", response_class=HTMLResponse)
async def unit_page(request: Request, site: SiteDep, unit_id: int):
    member = site.staff(request)
    unit = unit_by_id(site.engine, unit_id)
    if unit is None:
        raise HTTPException(404, text("reminders.unit.missing"))
    (candidate,) = [c for c in candidates(site.engine, site.profile, _today(site)) if c.unit_id == unit_id]
    return site.html(request, "unit.html", staff=member, nav="reminders", unit=unit, candidate=candidate,
                     states=STATES, events=unit_events(site.engine, unit.name), event_names=EVENTS,
                     sent=reminders_of(site.engine, unit_id))
