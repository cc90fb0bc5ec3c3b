"""The FastAPI app: login, dashboard, list, detail (correct, decide), quotas, exports.

Server-rendered Jinja2 pages; forms post back and redirect (no JavaScript needed).
Every page but the login needs a staff session; every POST needs the session's CSRF
token; every staff action is written to the ledger's event log under ``staff:<name>``.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from config.profile import Profile, load_profile
from config.settings import Settings
from domain.decision import ReasonCode
from domain.rules import DEFAULT_COLUMNS, UNIT_COLUMN
from intake import originals
from intake.message import decode
from intake.pipeline import documents
from ledger import db
from ledger.models import Event, Message, Reply, utcnow
from ledger.store import Store, reason_from_json
from ledger.web import charts, labels, metrics, pages, queries
from ledger.web.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    LoginLimiter,
    SessionCodec,
    StaffMember,
    authenticate,
    end_sessions,
    new_session,
    signing_key,
    staff_for_session,
)
from ledger.web.exports import ExportUnavailable, export_bytes
from ledger.web.review import CellChange, ReviewError, correct, decide

HERE = Path(__file__).resolve().parent


class NotLoggedIn(Exception):
    pass


class CsrfRefused(Exception):
    pass


def _local(profile: Profile) -> Callable[[datetime | None, str], str]:
    def fmt(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return "" if moment is None else moment.astimezone(profile.timezone).strftime(pattern)
    return fmt


def _reply_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def _reply_headers(raw: bytes) -> dict[str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return {k: str(msg.get(k, "")) for k in ("Subject", "To", "Date", "X-Intake-Decision", "X-Intake-Reasons")}


def _attachment_label(attachment) -> str:
    name = attachment.filename or "（未命名）"
    return f"{attachment.from_archive} 中的 {name}" if attachment.from_archive else name


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def create_app(settings: Settings, *, profile: Profile | None = None, engine: sa.Engine | None = None,
               clock: Callable[[], datetime] = utcnow, secure_cookies: bool = False,
               limiter: LoginLimiter | None = None) -> FastAPI:
    """The review app for ``settings`` (database, profile, data dir, office address)."""
    profile = profile or load_profile(settings.profile, settings.profile_dir)
    engine = engine or db.connect(settings.database_url)
    codec = SessionCodec(signing_key(engine))
    limiter = limiter or LoginLimiter()
    cache_dir = Path(settings.data_dir).parent / "review-cache"
    store = Store(engine, profile)

    app = FastAPI(title="1+X 申报审核", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.globals.update(L=labels, profile=profile, reason_label=labels.reason_label, ReasonCode=ReasonCode)
    env.filters["local"] = _local(profile)

    # --- session, staff, CSRF ---------------------------------------------------------

    @app.middleware("http")
    async def session_cookie(request: Request, call_next):
        session = codec.loads(request.cookies.get(SESSION_COOKIE))
        request.state.session_changed = session is None
        request.state.session = session or new_session()
        response = await call_next(request)
        if request.state.session_changed:
            response.set_cookie(SESSION_COOKIE, codec.dumps(request.state.session), max_age=SESSION_MAX_AGE,
                                httponly=True, samesite="strict", secure=secure_cookies, path="/")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def set_session(request: Request, session: dict) -> None:
        request.state.session, request.state.session_changed = session, True

    def staff_of(request: Request) -> StaffMember:
        session = request.state.session
        member = staff_for_session(engine, session.get("staff"), session.get("epoch"))
        if member is None:
            raise NotLoggedIn()
        return member

    async def checked_form(request: Request) -> dict[str, str]:
        form = await request.form()
        if not codec.csrf_ok(request.state.session["sid"], form.get("csrf_token")):
            raise CsrfRefused()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, _exc: NotLoggedIn):
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return HTMLResponse(page(request, "message.html", title="需要登录",
                                 text="登录已过期或尚未登录，请重新登录后再操作。", link="/login"), status_code=401)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused):
        return HTMLResponse(page(request, "message.html", title="请求已拒绝",
                                 text="表单校验码缺失或已失效（可能页面停留过久或在其他窗口重新登录过）。"
                                      "请返回并刷新页面后重新提交。", link="/"), status_code=403)

    def page(request: Request, name: str, **context) -> str:
        session = request.state.session
        context.setdefault("staff", None)
        return templates.get_template(name).render(
            request=request, csrf_token=codec.csrf_token(session["sid"]), now=clock(), **context)

    def html(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(page(request, name, **context), status_code=status)

    # --- login ---------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/"):
        session = request.state.session
        if staff_for_session(engine, session.get("staff"), session.get("epoch")) is not None:
            return RedirectResponse("/", status_code=303)
        return html(request, "login.html", next=next, error="")

    @app.post("/login")
    async def login(request: Request):
        form = await checked_form(request)
        name, password = form.get("name", "").strip(), form.get("password", "")
        target = form.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        client = request.client.host if request.client else "?"
        keys = (f"ip:{client}", f"user:{name}")
        wait = limiter.retry_after(*keys)
        if wait > 0:
            store.log_event(f"staff:{name or '?'}", "staff.login_refused", f"staff:{name}",
                            {"client": client, "retry_after": round(wait)})
            return html(request, "login.html", status=429, next=target,
                        error=f"登录失败次数过多，请 {max(1, round(wait / 60))} 分钟后再试。")
        member = authenticate(engine, name, password) if name and password else None
        if member is None:
            limiter.failed(*keys)
            store.log_event(f"staff:{name or '?'}", "staff.login_failed", f"staff:{name}", {"client": client})
            return html(request, "login.html", status=401, next=target, error="用户名或密码不正确。")
        limiter.succeeded(*keys)
        # A fresh session id at login: a cookie planted before cannot be carried into the account.
        set_session(request, {**new_session(), "staff": member.name, "epoch": member.epoch})
        store.log_event(member.actor, "staff.login", f"staff:{member.name}", {"client": client})
        return RedirectResponse(target, status_code=303)

    @app.post("/logout")
    async def logout(request: Request):
        await checked_form(request)
        member = staff_of(request)
        end_sessions(engine, member.name)
        store.log_event(member.actor, "staff.logout", f"staff:{member.name}", {})
        set_session(request, new_session())
        return RedirectResponse("/login", status_code=303)

    # --- pages ---------------------------------------------------------------------------

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus_metrics():
        return PlainTextResponse(metrics.render(engine, clock()), media_type="text/plain; version=0.0.4")

    @app.get("/", response_class=HTMLResponse)
    async def dashboard(request: Request):
        member = staff_of(request)
        now = clock()
        board = queries.dashboard(engine, profile, now)
        chart = charts.bars_per_day(board.per_day, today=now.astimezone(profile.timezone).date())
        return html(request, "dashboard.html", staff=member, board=board, chart=chart, nav="dashboard")

    @app.get("/submissions", response_class=HTMLResponse)
    async def submissions(request: Request):
        member = staff_of(request)
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
        listing = queries.list_submissions(engine, profile, filters)
        base = {k: v for k, v in q.items() if k not in ("page", "sort", "dir") and v}

        def link(**changes) -> str:
            params = {**base, "sort": filters.sort, "dir": "desc" if filters.descending else "asc", **changes}
            return "/submissions?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

        return html(request, "list.html", staff=member, listing=listing, f=filters, q=q, link=link,
                    cities=queries.cities(engine), nav="list")

    def problem_rows(detail: queries.Detail) -> set[int]:
        rows = {r["row"] for r in detail.reasons if r.get("row") is not None}
        return rows | {l.row for l in detail.lines if not l.confident}

    def envelope_of(message: Message):
        return decode(originals.load(settings.data_dir, message.original_path), message.received_at)

    def show_detail(request: Request, member: StaffMember, submission_id: int, *, error: str = "",
                    notice: str = "", status: int = 200) -> HTMLResponse:
        detail = queries.submission_detail(engine, submission_id)
        if detail is None:
            return html(request, "message.html", status=404, staff=member, title="未找到",
                        text=f"台账中没有编号为 {submission_id} 的提交。", link="/submissions")
        try:
            envelope = envelope_of(detail.message)
            refs = pages.page_refs(envelope)
            attachments = list(enumerate(documents(envelope)))
            original_error = ""
        except OSError as exc:
            envelope, refs, attachments, original_error = None, [], [], f"原始邮件文件无法读取：{exc}"
        replies = [(r, _reply_headers(r.raw), _reply_text(r.raw)) for r in detail.replies]
        reasons = [reason_from_json(r) for r in detail.reasons]
        marks = "-".join(map(str, sorted(problem_rows(detail)))) or "none"
        headers = {**DEFAULT_COLUMNS.get(detail.submission.kind, {})}
        try:
            headers.update(profile.form(detail.submission.kind).column_names())
        except KeyError:
            pass
        field_of = {header: name for name, header in headers.items()}
        bad_cells = {(r.row, field_of[r.column]) for r in reasons if r.row is not None and r.column in field_of}
        unit_flagged = any(r.column == UNIT_COLUMN for r in reasons)
        return html(request, "detail.html", status=status, staff=member, d=detail, refs=refs, marks=marks, bad_cells=bad_cells, unit_flagged=unit_flagged,
                    attachments=attachments, replies=replies, reasons=reasons, problems=problem_rows(detail),
                    error=error or original_error, notice=notice, nav="list",
                    reviewable=detail.submission.decision == "review")

    NOTICES = {"corrected": "已保存更正，并按更正后的数值重新核对。",
               "accepted": "已通过，跟进回复已进入发件队列。",
               "rejected": "已退回，跟进回复已进入发件队列。"}

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse)
    async def submission(request: Request, submission_id: int, notice: str = ""):
        member = staff_of(request)
        return show_detail(request, member, submission_id, notice=NOTICES.get(notice, ""))

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

    @app.post("/submissions/{submission_id}/correct")
    async def correct_cells(request: Request, submission_id: int):
        form = await checked_form(request)
        member = staff_of(request)
        try:
            correct(engine, profile, submission_id, cell_changes(form), staff=member.name, state=store.snapshot())
        except ReviewError as exc:
            return show_detail(request, member, submission_id, error=str(exc), status=400)
        return RedirectResponse(f"/submissions/{submission_id}?notice=corrected", status_code=303)

    @app.post("/submissions/{submission_id}/decide")
    async def decide_submission(request: Request, submission_id: int):
        form = await checked_form(request)
        member = staff_of(request)
        outcome = form.get("outcome", "")
        if outcome not in ("accepted", "rejected"):
            return show_detail(request, member, submission_id, error="请选择“通过”或“退回”。", status=400)
        try:
            # Values edited but not saved separately count: the decision is on what staff see.
            changes = cell_changes(form)
            if changes:
                correct(engine, profile, submission_id, changes, staff=member.name, state=store.snapshot(),
                        require_change=False)
            decide(engine, profile, submission_id, outcome, staff=member.name, note=form.get("note", ""),
                   from_addr=settings.from_address or profile.mailbox, data_dir=settings.data_dir, now=clock())
        except ReviewError as exc:
            return show_detail(request, member, submission_id, error=str(exc), status=409)
        return RedirectResponse(f"/submissions/{submission_id}?notice={outcome}", status_code=303)

    @app.get("/submissions/{submission_id}/pages/{attachment}/{page_no}.png")
    async def page_image(request: Request, submission_id: int, attachment: int, page_no: int):
        staff_of(request)
        detail = queries.submission_detail(engine, submission_id)
        if detail is None:
            raise HTTPException(404)
        try:
            png = pages.page_png(envelope_of(detail.message), attachment, page_no, problem_rows(detail), cache_dir)
        except (LookupError, OSError) as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    def message_of(message_pk: int) -> Message:
        with Session(engine) as s:
            message = s.get(Message, message_pk)
        if message is None:
            raise HTTPException(404)
        return message

    def download(data: bytes, filename: str, media_type: str) -> Response:
        return Response(data, media_type=media_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})

    def logged_download(member: StaffMember, what: str, data: bytes, filename: str, media_type: str) -> Response:
        store.log_event(member.actor, "staff.downloaded", what, {"file": filename, "bytes": len(data)})
        return download(data, filename, media_type)

    @app.get("/messages/{message_pk}/original.eml")
    async def original(request: Request, message_pk: int):
        member = staff_of(request)
        message = message_of(message_pk)
        try:
            raw = originals.load(settings.data_dir, message.original_path)
        except OSError as exc:
            raise HTTPException(404, "原始邮件文件无法读取") from exc
        return logged_download(member, f"message:{message_pk}", raw, f"message-{message_pk}.eml", "message/rfc822")

    @app.get("/messages/{message_pk}/attachments/{index}")
    async def attachment(request: Request, message_pk: int, index: int):
        member = staff_of(request)
        try:
            docs = documents(envelope_of(message_of(message_pk)))
        except OSError as exc:
            raise HTTPException(404, "原始邮件文件无法读取") from exc
        if not 0 <= index < len(docs):
            raise HTTPException(404)
        item = docs[index]
        # Always a download, never rendered inline: a school's file must not run in our origin.
        return logged_download(member, f"message:{message_pk}", item.data, item.filename or f"attachment-{index}",
                               "application/octet-stream")

    @app.get("/replies/{reply_pk}.eml")
    async def reply_raw(request: Request, reply_pk: int):
        member = staff_of(request)
        with Session(engine) as s:
            reply = s.get(Reply, reply_pk)
        if reply is None:
            raise HTTPException(404)
        return logged_download(member, f"message:{reply.message_pk}", reply.raw, f"reply-{reply_pk}.eml",
                               "message/rfc822")

    # --- mail without a submission (no reply went out) ------------------------------------

    @app.get("/other", response_class=HTMLResponse)
    async def other_mail(request: Request, kind: str = "other", page: str = "1"):
        member = staff_of(request)
        listing = queries.ignored_mail(engine, kind, int(page) if page.isdigit() else 1)
        kind = kind if kind in queries.IGNORED_KINDS else "other"
        files: dict[int, list[tuple[int, str]]] = {}
        for mail in listing.mails:
            try:
                envelope = envelope_of(message_of(mail.id))
            except (OSError, HTTPException):
                files[mail.id] = []
                continue
            files[mail.id] = [(i, _attachment_label(a), bool(a.data)) for i, a in enumerate(envelope.attachments)]
        return html(request, "other.html", staff=member, listing=listing, kind=kind, files=files, nav="other")

    @app.get("/messages/{message_pk}/files/{index}")
    async def any_attachment(request: Request, message_pk: int, index: int):
        """Any attachment of a mail (a Word receipt too), by its place in the mail; always a download."""
        member = staff_of(request)
        try:
            items = envelope_of(message_of(message_pk)).attachments
        except OSError as exc:
            raise HTTPException(404, "原始邮件文件无法读取") from exc
        if not 0 <= index < len(items) or not items[index].data:
            raise HTTPException(404)
        item = items[index]
        return logged_download(member, f"message:{message_pk}", item.data, item.filename or f"attachment-{index}",
                               "application/octet-stream")

    @app.get("/quotas", response_class=HTMLResponse)
    async def quota_page(request: Request, unit: str = "", changed: str = ""):
        member = staff_of(request)
        rows = queries.quotas(engine, unit, only_changed=changed == "1")
        return html(request, "quotas.html", staff=member, rows=rows, unit=unit, changed=changed == "1",
                    nav="quotas")

    @app.get("/exports", response_class=HTMLResponse)
    async def exports_page(request: Request):
        member = staff_of(request)
        with Session(engine) as s:
            recent = list(s.execute(sa.select(Event).where(Event.action == "staff.exported")
                                    .order_by(Event.id.desc()).limit(10)).scalars())
        return html(request, "exports.html", staff=member, recent=recent, nav="exports")

    @app.get("/exports/ledger.{fmt}")
    async def export_file(request: Request, fmt: str):
        member = staff_of(request)
        if fmt not in ("json", "xlsx"):
            raise HTTPException(404)
        try:
            data = export_bytes(engine, fmt, profile.timezone)
        except ExportUnavailable as exc:
            return html(request, "message.html", status=503, staff=member, title="导出暂不可用", text=str(exc),
                        link="/exports")
        store.log_event(member.actor, "staff.exported", "ledger", {"format": fmt, "bytes": len(data)})
        stamp = clock().astimezone(profile.timezone).strftime("%Y%m%d-%H%M")
        media = "application/json" if fmt == "json" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return download(data, f"台账-{profile.id}-{stamp}.{fmt}", media)

    app.state.engine, app.state.profile, app.state.limiter = engine, profile, limiter
    return app
