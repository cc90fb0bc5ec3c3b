"""``GET /other``: 其他来信 — mail that got no reply (no submission attempt; auto-replies and
bounces under their own tab), with its attachments to download and why it was set aside."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from review import queries
from review.site import SiteDep
from templates import say, text

router = APIRouter()


def _attachment_label(attachment) -> str:
    name = attachment.filename or text("staff.other.unnamed")
    if not attachment.from_archive:
        return name
    return say("staff.other.in_archive", archive=attachment.from_archive, name=name)


@router.get("/other", response_class=HTMLResponse)
async def other_mail(request: Request, site: SiteDep, kind: str = "other", page: str = "1"):
    member = site.staff(request)
    listing = queries.ignored_mail(site.engine, kind, int(page) if page.isdigit() else 1)
    kind = kind if kind in queries.IGNORED_KINDS else "other"
    files: dict[int, list[tuple[int, str]]] = {}
    for mail in listing.mails:
        try:
            envelope = site.envelope_of(site.message_of(mail.id))
        except (OSError, HTTPException):
            files[mail.id] = []
            continue
        files[mail.id] = [(i, _attachment_label(a), bool(a.data)) for i, a in enumerate(envelope.attachments)]
    return site.html(request, "other.html", staff=member, listing=listing, kind=kind, files=files, nav="other")
