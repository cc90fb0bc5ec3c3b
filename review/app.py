"""The FastAPI app: one ``Site`` (the context every route shares), the session middleware,
the two refusals (not logged in, CSRF), and one router per page (``review.routers``).

Server-rendered Jinja2 pages (``templates/review/``, beside the rest of the wording);
forms post back and redirect (no JavaScript needed).
Every page but the login needs a staff session; every POST needs the session's CSRF
token; every staff action is written to the ledger's event log under ``staff:<name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from config.profile import Profile, load_profile
from config.settings import Settings
from domain.decision import ReasonCode
from ledger import db
from ledger.models import utcnow
from ledger.store import Store
from review import labels
from review.auth import SESSION_COOKIE, SESSION_MAX_AGE, LoginLimiter, SessionCodec, new_session, signing_key
from review.routers import ROUTERS, reminders
from review.site import CsrfRefused, NotLoggedIn, Site
from templates import PAGES_DIR, text

HERE = Path(__file__).resolve().parent


def _local(profile: Profile) -> Callable[[datetime | None, str], str]:
    def fmt(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return "" if moment is None else moment.astimezone(profile.timezone).strftime(pattern)
    return fmt


def create_app(settings: Settings, *, profile: Profile | None = None, engine: sa.Engine | None = None,
               clock: Callable[[], datetime] = utcnow, secure_cookies: bool = False,
               limiter: LoginLimiter | None = None) -> FastAPI:
    """The review app for ``settings`` (database, profile, data dir, office address)."""
    profile = profile or load_profile(settings.profile, settings.profile_dir)
    engine = engine or db.connect(settings.database_url)
    templates = Jinja2Templates(directory=PAGES_DIR)
    templates.env.globals.update(L=labels, profile=profile, reason_label=labels.reason_label, ReasonCode=ReasonCode)
    templates.env.filters["local"] = _local(profile)
    site = Site(settings=settings, profile=profile, engine=engine, store=Store(engine, profile), clock=clock,
                codec=SessionCodec(signing_key(engine)), limiter=limiter or LoginLimiter(), templates=templates,
                cache_dir=Path(settings.data_dir).parent / "review-cache", secure_cookies=secure_cookies)

    app = FastAPI(title=text("staff.app.title"), docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _install_session(app, site)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(reminders.router)  # 催报 and the unit page (issue 17)
    app.state.site = site
    app.state.engine, app.state.profile, app.state.limiter = engine, profile, site.limiter
    return app


def _install_session(app: FastAPI, site: Site) -> None:
    """The signed session cookie on every request, security headers on every answer, and
    the pages for the two refusals."""

    @app.middleware("http")
    async def session_cookie(request: Request, call_next):
        session = site.codec.loads(request.cookies.get(SESSION_COOKIE))
        request.state.session_changed = session is None
        request.state.session = session or new_session()
        response = await call_next(request)
        if request.state.session_changed:
            response.set_cookie(SESSION_COOKIE, site.codec.dumps(request.state.session), max_age=SESSION_MAX_AGE,
                                httponly=True, samesite="strict", secure=site.secure_cookies, path="/")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, _exc: NotLoggedIn):
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return HTMLResponse(site.page(request, "message.html", title=text("staff.refused.login.title"),
                                      text=text("staff.refused.login"), link="/login"),
                            status_code=401)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused):
        return HTMLResponse(site.page(request, "message.html", title=text("staff.refused.csrf.title"),
                                      text=text("staff.refused.csrf"), link="/"), status_code=403)
