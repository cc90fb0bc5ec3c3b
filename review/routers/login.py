"""Login and logout: argon2 passwords, a fresh session id at login, a rate limit on failures."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from review.auth import authenticate, end_sessions, new_session
from review.site import SiteDep
from templates import say, text

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, site: SiteDep, next: str = "/"):
    if site.logged_in(request) is not None:
        return RedirectResponse("/", status_code=303)
    return site.html(request, "login.html", next=next, error="")


@router.post("/login")
async def login(request: Request, site: SiteDep):
    form = await site.checked_form(request)
    name, password = form.get("name", "").strip(), form.get("password", "")
    target = form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    client = request.client.host if request.client else "?"
    keys = (f"ip:{client}", f"user:{name}")
    wait = site.limiter.retry_after(*keys)
    if wait > 0:
        site.store.log_event(f"staff:{name or '?'}", "staff.login_refused", f"staff:{name}",
                             {"client": client, "retry_after": round(wait)})
        return site.html(request, "login.html", status=429, next=target,
                         error=say("staff.login.too_many", minutes=max(1, round(wait / 60))))
    member = authenticate(site.engine, name, password) if name and password else None
    if member is None:
        site.limiter.failed(*keys)
        site.store.log_event(f"staff:{name or '?'}", "staff.login_failed", f"staff:{name}", {"client": client})
        return site.html(request, "login.html", status=401, next=target, error=text("staff.login.wrong"))
    site.limiter.succeeded(*keys)
    # A fresh session id at login: a cookie planted before cannot be carried into the account.
    site.set_session(request, {**new_session(), "staff": member.name, "epoch": member.epoch})
    site.store.log_event(member.actor, "staff.login", f"staff:{member.name}", {"client": client})
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request, site: SiteDep):
    await site.checked_form(request)
    member = site.staff(request)
    end_sessions(site.engine, member.name)
    site.store.log_event(member.actor, "staff.logout", f"staff:{member.name}", {})
    site.set_session(request, new_session())
    return RedirectResponse("/login", status_code=303)
