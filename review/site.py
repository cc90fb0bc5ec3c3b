"""What every router shares: the site's context, the staff check, CSRF, rendering, downloads.

``create_app`` builds one ``Site`` (settings, profile, engine, store, clock, templates,
session codec, login limiter) and keeps it in ``app.state.site``; a route receives it as a
FastAPI dependency, ``site: SiteDep``.

The staff check and the CSRF check are plain calls at the top of a route
(``member = site.staff(request)``, ``form = await site.checked_form(request)``), not
``Depends``: FastAPI solves dependencies before it validates path parameters, so as a
dependency the check would answer ``/submissions/abc`` with a login redirect where the
site answers 422. Called in the route, the order stays what it was: path parameters,
then CSRF (POST), then the staff session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from config.profile import Profile
from config.settings import Settings
from domain.envelope import Envelope
from intake import originals
from intake.message import decode
from ledger.models import Message
from ledger.store import Store
from review.auth import LoginLimiter, SessionCodec, StaffMember, staff_for_session


class NotLoggedIn(Exception):
    """No staff session: a GET is sent to the login page, a POST gets 401."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: 403."""


@dataclass(frozen=True)
class Site:
    settings: Settings
    profile: Profile
    engine: sa.Engine
    store: Store
    clock: Callable[[], datetime]
    codec: SessionCodec
    limiter: LoginLimiter
    templates: Jinja2Templates
    cache_dir: Path  # rendered page pictures
    secure_cookies: bool = False

    # --- session, staff, CSRF ---------------------------------------------------------

    @staticmethod
    def set_session(request: Request, session: dict) -> None:
        request.state.session, request.state.session_changed = session, True

    def logged_in(self, request: Request) -> StaffMember | None:
        session = request.state.session
        return staff_for_session(self.engine, session.get("staff"), session.get("epoch"))

    def staff(self, request: Request) -> StaffMember:
        member = self.logged_in(request)
        if member is None:
            raise NotLoggedIn()
        return member

    async def checked_form(self, request: Request) -> dict[str, str]:
        form = await request.form()
        if not self.codec.csrf_ok(request.state.session["sid"], form.get("csrf_token")):
            raise CsrfRefused()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    # --- rendering --------------------------------------------------------------------

    def page(self, request: Request, name: str, **context) -> str:
        session = request.state.session
        context.setdefault("staff", None)
        return self.templates.get_template(name).render(
            request=request, csrf_token=self.codec.csrf_token(session["sid"]), now=self.clock(), **context)

    def html(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(self.page(request, name, **context), status_code=status)

    # --- mail from the ledger ---------------------------------------------------------

    def message_of(self, message_pk: int) -> Message:
        with Session(self.engine) as s:
            message = s.get(Message, message_pk)
        if message is None:
            raise HTTPException(404)
        return message

    def envelope_of(self, message: Message) -> Envelope:
        return decode(originals.load(self.settings.data_dir, message.original_path), message.received_at)

    # --- downloads --------------------------------------------------------------------

    def logged_download(self, member: StaffMember, what: str, data: bytes, filename: str,
                        media_type: str) -> Response:
        self.store.log_event(member.actor, "staff.downloaded", what, {"file": filename, "bytes": len(data)})
        return download(data, filename, media_type)


def download(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


def site(request: Request) -> Site:
    """The dependency: the ``Site`` that ``create_app`` kept in ``app.state``."""
    return request.app.state.site


SiteDep = Annotated[Site, Depends(site)]
