"""The review page over HTTP (FastAPI's TestClient, a real ledger): access control, CSRF,
the login rate limit, correcting a value and deciding, with exactly one follow-up reply.

``ReviewWorld`` (``testkit.review``) builds what the worker would have left behind: real units and catalogue,
an approved quota, a stored original mail whose attachment is a rendered 指标调增申请表,
and the worker's ``review`` decision recorded through the real ``Store``. The browser test
(``test_review_browser.py``) reuses it.
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import sqlalchemy as sa

from intake import originals
from ledger.models import Event, Submission, SubmissionLine, Unit
from ledger.models import StaffCorrection
from review.auth import LoginLimiter
from tests.fixtures.review import world  # noqa: F401 (fixture)
from testkit.review import STAFF, ReviewWorld, client_for, csrf, login


# --- access control ----------------------------------------------------------------------------


def test_anonymous_requests_are_refused(world):
    client = client_for(world)
    for path in ("/", "/submissions", f"/submissions/{world.submission_id}", "/quotas", "/exports",
                 f"/messages/{world.message_pk}/original.eml", "/exports/ledger.json"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    token = csrf(client.get("/login").text)  # a valid token, but nobody logged in
    response = client.post(f"/submissions/{world.submission_id}/decide",
                           data={"csrf_token": token, "outcome": "accepted"}, follow_redirects=False)
    assert response.status_code == 401
    assert "请重新登录" in response.text
    assert world.queued() == [] and world.quota() == world.approved


def test_login_sets_a_signed_httponly_samesite_cookie_and_logs_the_event(world):
    client = client_for(world)
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "未提交单位" in page.text and STAFF in page.text
    missing = page.text.split('id="missing"', 1)[1]
    assert _follow_unit_link(client, missing, world) == world.unit  # the units not heard from link to their pages
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
    # A tampered cookie is a new anonymous session.
    value = client.cookies.get("intake_session")
    client.cookies.set("intake_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/", follow_redirects=False).status_code == 303
    with world.engine.connect() as conn:
        actors = conn.execute(sa.select(Event.actor).where(Event.action == "staff.login")).scalars().all()
    assert actors == [f"staff:{STAFF}"]


def test_a_post_without_the_csrf_token_is_refused(world):
    client = client_for(world)
    login(client)
    for data in ({"outcome": "accepted"}, {"outcome": "accepted", "csrf_token": "0" * 64}):
        response = client.post(f"/submissions/{world.submission_id}/decide", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "表单校验码" in response.text
    response = client.post(f"/submissions/{world.submission_id}/correct", data={"total": "1"},
                           follow_redirects=False)
    assert response.status_code == 403
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(Submission.decision)).scalar_one() == "review"
    assert world.queued() == []


def test_wrong_passwords_are_rate_limited(world):
    client = client_for(world, LoginLimiter(max_failures=3, window=600))
    for _ in range(3):
        assert login(client, password="wrong password!").status_code == 401
    refused = login(client)  # even the right password waits now
    assert refused.status_code == 429
    assert "分钟后再试" in refused.text
    with world.engine.connect() as conn:
        failed = conn.execute(sa.select(sa.func.count()).select_from(Event)
                              .where(Event.action == "staff.login_failed")).scalar_one()
    assert failed == 3


def test_logout_ends_the_session_everywhere(world):
    client = client_for(world)
    login(client)
    stolen = client.cookies.get("intake_session")
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    other = client_for(world)
    other.cookies.set("intake_session", stolen)
    assert other.get("/", follow_redirects=False).status_code == 303


# --- correcting and deciding -------------------------------------------------------------------


def _follow_unit_link(client, html: str, world: ReviewWorld) -> str:
    """Follow the link on the world's unit name to its page (/units/{id}); the page's heading."""
    with world.engine.connect() as conn:
        unit_id = conn.execute(sa.select(Unit.id).where(Unit.name == world.unit)).scalar_one()
    match = re.search(rf'<a href="(/units/\d+)"[^>]*>{re.escape(world.unit)}</a>', html)
    assert match and match[1] == f"/units/{unit_id}"
    page = client.get(match[1])
    assert page.status_code == 200
    return re.search(r"<h1>([^<]+?) <span", page.text)[1]


def _line_id(world: ReviewWorld) -> int:
    with world.engine.connect() as conn:
        return conn.execute(sa.select(SubmissionLine.id)).scalar_one()


def test_correct_then_accept_raises_the_quota_and_queues_one_follow_up(world):
    client = client_for(world)
    login(client)
    detail = client.get(f"/submissions/{world.submission_id}")
    assert detail.status_code == 200
    assert f'value="{world.misread}"' in detail.text and "识别不确定" in detail.text
    assert _follow_unit_link(client, detail.text, world) == world.unit  # the sender's unit links to its page
    line = _line_id(world)
    response = client.post(f"/submissions/{world.submission_id}/correct", follow_redirects=True, data={
        "csrf_token": csrf(detail.text), f"line-{line}-requested": str(world.requested),
        f"line-{line}-approved": str(world.approved)})
    assert response.status_code == 200 and "已保存更正" in response.text
    assert "没有发现问题" in response.text  # the rules ran again on the corrected line

    decided = client.post(f"/submissions/{world.submission_id}/decide", follow_redirects=True,
                          data={"csrf_token": csrf(response.text), "outcome": "accepted", "note": ""})
    assert "已通过" in decided.text
    assert world.quota() == world.requested
    (reply,) = world.queued()
    mail = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert mail["X-Intake-Decision"] == "accepted"
    assert mail["Subject"] == f"回复：{world.unit}+2025年证书指标调增申请"
    assert mail["In-Reply-To"] == world.store.message(world.message_pk).message_id
    body = mail.get_body().get_content()
    assert "人工审核" in body and f"{world.approved}人 → {world.requested}人" in body

    # A second click (or a second staff member) neither decides again nor sends again.
    again = client.post(f"/submissions/{world.submission_id}/decide", follow_redirects=False,
                        data={"csrf_token": csrf(response.text), "outcome": "accepted"})
    assert again.status_code == 409
    assert len(world.queued()) == 1 and world.quota() == world.requested
    with world.engine.connect() as conn:
        events = conn.execute(sa.select(Event.actor, Event.action).where(Event.actor == f"staff:{STAFF}")).all()
    assert ("staff:" + STAFF, "staff.corrected") in events and ("staff:" + STAFF, "staff.decided") in events


def test_reject_needs_a_reason_and_sends_it_to_the_school(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    empty = client.post(f"/submissions/{world.submission_id}/decide",
                        data={"csrf_token": csrf(page.text), "outcome": "rejected", "note": "  "})
    assert empty.status_code == 409 and "请填写退回理由" in empty.text
    note = "原件第1行调增后人数涂改不清，请重新填写并加盖公章"
    client.post(f"/submissions/{world.submission_id}/decide",
                data={"csrf_token": csrf(page.text), "outcome": "rejected", "note": note})
    (reply,) = world.queued()
    mail = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert mail["X-Intake-Decision"] == "rejected"
    assert note in mail.get_body().get_content()
    assert world.quota() == world.approved


def test_a_bad_correction_is_explained_and_changes_nothing(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    response = client.post(f"/submissions/{world.submission_id}/correct",
                           data={"csrf_token": csrf(page.text), f"line-{line}-requested": "一百五"})
    assert response.status_code == 400
    assert "应填写 0 到" in response.text and "一百五" in response.text
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(SubmissionLine.requested)).scalar_one() == world.misread


def test_list_filters_and_searches_by_alias(world):
    with world.engine.begin() as conn:
        conn.execute(sa.update(Unit).where(Unit.name == world.unit).values(aliases=["测试简称"]))
    client = client_for(world)
    login(client)
    hit = client.get("/submissions", params={"unit": "测试简称", "decision": "review",
                                             "reason": "ocr.low_confidence"})
    assert f"/submissions/{world.submission_id}" in hit.text
    for params in ({"decision": "accepted"}, {"reason": "cert.unknown"}, {"kind": "summary"},
                   {"from": "2025-03-21"}):
        miss = client.get("/submissions", params=params)
        assert f'href="/submissions/{world.submission_id}"' not in miss.text, params


def test_exports_download_the_ledger_and_are_logged(world):
    client = client_for(world)
    login(client)
    data = client.get("/exports/ledger.json")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    exported = data.json()
    assert [q["approved"] for q in exported["quotas"]] == [world.approved]
    assert [s["decision"] for s in exported["submissions"]] == ["review"]
    book = client.get("/exports/ledger.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"  # a zip: an xlsx workbook
    with world.engine.connect() as conn:
        formats = conn.execute(sa.select(Event.detail).where(Event.action == "staff.exported")
                               .order_by(Event.id)).scalars().all()
    assert [d["format"] for d in formats] == ["json", "xlsx"]


def test_downloads_of_the_original_and_its_attachment(world):
    client = client_for(world)
    login(client)
    original = client.get(f"/messages/{world.message_pk}/original.eml")
    assert original.status_code == 200
    assert original.content == originals.load(world.settings.data_dir, world.store.message(world.message_pk).original_path)
    attachment = client.get(f"/messages/{world.message_pk}/attachments/0")
    assert attachment.headers["content-type"] == "application/octet-stream"  # never rendered in our origin
    assert attachment.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/messages/{world.message_pk}/attachments/5").status_code == 404
    with world.engine.connect() as conn:
        logged = conn.execute(sa.select(Event.actor, Event.detail).where(Event.action == "staff.downloaded")
                              .order_by(Event.id)).all()
    assert [(actor, d["file"]) for actor, d in logged] == [
        (f"staff:{STAFF}", f"message-{world.message_pk}.eml"), (f"staff:{STAFF}", "指标调增申请表.png")]


def test_a_corrected_value_that_breaks_a_rule_is_flagged_on_its_cell(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    lower = world.approved - 10  # 调增后人数 below the approved number: not an increase
    response = client.post(f"/submissions/{world.submission_id}/correct", follow_redirects=True,
                           data={"csrf_token": csrf(page.text), f"line-{line}-requested": str(lower)})
    assert "调增后人数未增加" in response.text
    cell = re.search(r'<td class="num ([^"]*)"><input name="line-\d+-requested"', response.text).group(1)
    assert cell == "bad-cell"
    other = re.search(r'<td class="num ([^"]*)"><input name="line-\d+-approved"', response.text).group(1)
    assert other == ""
    with world.engine.connect() as conn:
        (reason,) = conn.execute(sa.select(Submission.reasons)).scalar_one()
    assert (reason["code"], reason["row"], reason["column"]) == ("quota.not_increase", 1, "调增后人数")
    # The rules still say no: staff cannot accept it, only correct it further or reject it.
    refused = client.post(f"/submissions/{world.submission_id}/decide",
                          data={"csrf_token": csrf(page.text), "outcome": "accepted"})
    assert refused.status_code == 409 and "调增后人数未增加（第1行）" in refused.text
    assert world.queued() == [] and world.quota() == world.approved


def test_a_lost_original_stops_the_decision_with_a_clear_message(world):
    (Path(world.settings.data_dir) / world.store.message(world.message_pk).original_path).unlink()
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    assert page.status_code == 200 and "原始邮件文件无法读取" in page.text
    response = client.post(f"/submissions/{world.submission_id}/decide",
                           data={"csrf_token": csrf(page.text), "outcome": "accepted"})
    assert response.status_code == 409 and "INTAKE_DATA_DIR" in response.text
    assert world.queued() == [] and world.quota() == world.approved


def test_an_edit_not_saved_separately_is_part_of_the_decision(world):
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    response = client.post(f"/submissions/{world.submission_id}/decide", follow_redirects=True, data={
        "csrf_token": csrf(page.text), f"line-{line}-requested": str(world.requested),
        f"line-{line}-approved": str(world.approved), "unit": world.unit, "outcome": "accepted", "note": ""})
    assert "已通过" in response.text
    assert world.quota() == world.requested
    with world.engine.connect() as conn:
        corrections = conn.execute(sa.select(StaffCorrection.field, StaffCorrection.old_value,
                                             StaffCorrection.new_value)).all()
    assert corrections == [("requested", str(world.misread), str(world.requested))]


def test_an_unread_cell_left_empty_is_no_correction_and_blocks_acceptance(world):
    with world.engine.begin() as conn:
        conn.execute(sa.update(SubmissionLine).values(requested=None))
    client = client_for(world)
    login(client)
    page = client.get(f"/submissions/{world.submission_id}")
    line = _line_id(world)
    form = {"csrf_token": csrf(page.text), f"line-{line}-requested": "", f"line-{line}-approved": str(world.approved),
            "unit": world.unit}
    saved = client.post(f"/submissions/{world.submission_id}/correct", data=form)
    assert saved.status_code == 400 and "没有需要保存的更改" in saved.text
    accepted = client.post(f"/submissions/{world.submission_id}/decide", data={**form, "outcome": "accepted"})
    assert accepted.status_code == 409 and "调增后人数未增加（第1行）" in accepted.text
    assert world.queued() == [] and world.quota() == world.approved
