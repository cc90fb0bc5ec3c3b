"""Downloads of what a mail carried and what we answered: the original ``.eml``, its
attachments, our replies. Always downloads (never rendered in our origin), each logged."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.orm import Session

from intake import originals
from intake.pipeline import documents
from ledger.models import Reply
from review.site import SiteDep
from templates import text

router = APIRouter()


@router.get("/messages/{message_pk}/original.eml")
async def original(request: Request, site: SiteDep, message_pk: int):
    member = site.staff(request)
    message = site.message_of(message_pk)
    try:
        raw = originals.load(site.settings.data_dir, message.original_path)
    except OSError as exc:
        raise HTTPException(404, text("staff.original.unreadable")) from exc
    return site.logged_download(member, f"message:{message_pk}", raw, f"message-{message_pk}.eml", "message/rfc822")


@router.get("/messages/{message_pk}/attachments/{index}")
async def attachment(request: Request, site: SiteDep, message_pk: int, index: int):
    """An attachment among the documents read (the numbering of 提交详情's pages)."""
    member = site.staff(request)
    try:
        docs = documents(site.envelope_of(site.message_of(message_pk)))
    except OSError as exc:
        raise HTTPException(404, text("staff.original.unreadable")) from exc
    if not 0 <= index < len(docs):
        raise HTTPException(404)
    item = docs[index]
    # Always a download, never rendered inline: a school's file must not run in our origin.
    return site.logged_download(member, f"message:{message_pk}", item.data, item.filename or f"attachment-{index}",
                                "application/octet-stream")


@router.get("/replies/{reply_pk}.eml")
async def reply_raw(request: Request, site: SiteDep, reply_pk: int):
    member = site.staff(request)
    with Session(site.engine) as s:
        reply = s.get(Reply, reply_pk)
    if reply is None:
        raise HTTPException(404)
    return site.logged_download(member, f"message:{reply.message_pk}", reply.raw, f"reply-{reply_pk}.eml",
                                "message/rfc822")


@router.get("/messages/{message_pk}/files/{index}")
async def any_attachment(request: Request, site: SiteDep, message_pk: int, index: int):
    """Any attachment of a mail (a Word receipt too), by its place in the mail; always a download."""
    member = site.staff(request)
    try:
        items = site.envelope_of(site.message_of(message_pk)).attachments
    except OSError as exc:
        raise HTTPException(404, text("staff.original.unreadable")) from exc
    if not 0 <= index < len(items) or not items[index].data:
        raise HTTPException(404)
    item = items[index]
    return site.logged_download(member, f"message:{message_pk}", item.data, item.filename or f"attachment-{index}",
                                "application/octet-stream")
