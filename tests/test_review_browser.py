"""End to end in a real browser: Debian's Chromium driven by Playwright against the real app
served by uvicorn, a real ledger, and the worker's real SMTP sending to a real SMTP server.

A staff member logs in, opens the ``review`` increase form, corrects the number the reader
was unsure of, accepts it; the follow-up reply arrives at the SMTP server exactly once and the
approved quota changed. Every page is photographed into ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn

from intake.worker import RunSummary, Worker
from ledger.models import Submission, Unit
from review.app import create_app
from testkit.review import NOW, PASSWORD, STAFF, add_season, build_world

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path, smtp_sink):
    world = build_world(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", tmp_path, smtp_port=smtp_sink.port, units=24)
    add_season(world, 30)  # a busy week, so the dashboard and the list look like the season
    app = create_app(world.settings, engine=world.engine, clock=lambda: NOW)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    world.engine.dispose()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: apt-get install -y chromium (never `playwright install`)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_staff_corrects_and_accepts_in_the_browser(served, browser, smtp_sink):
    world, base = served
    page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page.goto(f"{base}/submissions")
    assert "/login" in page.url  # anonymous: sent to the login page
    shot(page, "login")
    page.fill("input[name=name]", STAFF)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/submissions")

    page.goto(f"{base}/")
    with world.engine.connect() as conn:
        units = set(conn.execute(sa.select(Unit.name)).scalars())
        reported = set(conn.execute(sa.select(Submission.unit).where(
            Submission.kind == "summary", Submission.decision == "accepted",
            Submission.superseded_by_id.is_(None))).scalars())
        review = conn.execute(sa.select(sa.func.count()).where(Submission.decision == "review")).scalar_one()
    assert page.inner_text(".tile.review b") == str(review) == "1"
    assert 0 < len(units - reported) < len(units)
    assert page.locator("#missing tbody tr").count() == len(units - reported)
    for name in units - reported:
        assert page.locator("#missing").get_by_text(name, exact=True).count() == 1
    shot(page, "dashboard")

    page.goto(f"{base}/submissions")
    with world.engine.connect() as conn:
        current = conn.execute(sa.select(sa.func.count()).where(Submission.superseded_by_id.is_(None))).scalar_one()
    assert current > 25
    assert page.locator("table.list tbody tr").count() == 25  # the first page
    assert "第 1 / 2 页" in page.inner_text(".pager")
    shot(page, "list")
    page.goto(f"{base}/submissions?decision=review")
    row = page.locator("table.list tbody tr").filter(has_text=world.unit)
    assert page.locator("table.list tbody tr").count() == row.count() == 1
    row.get_by_role("link", name="审核").click()
    page.wait_for_load_state("networkidle")
    image = page.locator(".original img").first
    assert page.evaluate("img => img.complete && img.naturalWidth > 500", image.element_handle())
    requested = page.locator("input[name$='-requested']")
    assert requested.input_value() == str(world.misread)
    shot(page, "detail-review")

    requested.fill(str(world.requested))
    page.get_by_role("button", name="保存更正并重新核对").click()
    page.wait_for_selector(".notice")
    assert "没有发现问题" in page.inner_text("#reasons")
    page.get_by_role("button", name="通过").click()
    page.wait_for_selector(".notice")
    assert page.inner_text("#decision") == "通过"
    assert world.quota() == world.requested
    shot(page, "detail-decided")

    # The worker sends the queued follow-up through SMTP, exactly once.
    worker = Worker(world.settings, world.store.profile, world.store)
    first = RunSummary()
    worker.send_queued(first)
    worker.send_queued(RunSummary())
    assert first.sent == 1
    (reply,) = smtp_sink.messages()
    assert reply["X-Intake-Decision"] == "accepted"
    assert reply["In-Reply-To"] == world.store.message(world.message_pk).message_id
    assert smtp_sink.received[0][1] == [world.contact]
    assert f"{world.approved}人 → {world.requested}人" in reply.get_body().get_content()

    page.reload()
    assert "已发送" in page.inner_text("details.reply[open] summary")
    page.goto(f"{base}/quotas?changed=1")
    assert page.locator("#quotas td.strong").first.inner_text() == str(world.requested)
    shot(page, "quotas")
    page.goto(f"{base}/exports")
    with page.expect_download() as download:
        page.click("#export-json")
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    (quota,) = [q for q in exported["quotas"] if q["unit"] == world.unit]
    assert quota["approved"] == world.requested
    (mine,) = [s for s in exported["submissions"] if s["unit"] == world.unit]
    assert mine["decision"] == "accepted"
    page.reload()
    assert "json" in page.inner_text("main table")  # the download is in the log, with the staff name
    assert STAFF in page.inner_text("main table")
    shot(page, "exports")


def test_staff_preview_and_send_reminders_in_the_browser(served, browser, smtp_sink):
    from ledger.reminders import candidates

    world, base = served
    due = {c.unit: c for c in candidates(world.engine, world.store.profile, NOW.date()) if c.due}
    rejected = next(c for c in due.values() if c.rejected is not None)  # a school add_season rejected
    page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page.goto(f"{base}/login?next=/")
    page.fill("input[name=name]", STAFF)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("#remind")
    page.wait_for_url(f"{base}/reminders")
    ticked = page.locator("#reminder-units tbody tr").filter(has=page.locator("input:checked"))
    assert sorted(ticked.evaluate_all("rows => rows.map(r => r.dataset.unit)")) == sorted(due)
    shot(page, "reminders")

    page.click("#preview")
    page.wait_for_selector("#send-form")
    card = page.locator(f".preview[data-unit='{rejected.unit}']")
    assert card.locator(".subject").inner_text() == f"【催报】请于04月10日前报送申报学校汇总表（{rejected.unit}）"
    body = card.locator(".mail-body").inner_text()
    assert "截止日期为2025年04月10日（含当天，还有18天）" in body and "上次的问题" in body
    assert f"邮件主题：{rejected.unit}+2025年证书申报" in body
    shot(page, "reminders-preview")
    page.click("#send")
    page.wait_for_selector(".notice")
    assert f"已将 {len(due)} 个单位的催报邮件放入发件队列" in page.inner_text(".notice")

    worker = Worker(world.settings, world.store.profile, world.store)
    first = RunSummary()
    worker.send_queued(first)
    worker.send_queued(RunSummary())
    assert first.sent == len(smtp_sink.received) == len(due)  # one address each, exactly once
    mails = {m["Subject"]: m for m in smtp_sink.messages()}
    sent = mails[f"【催报】请于04月10日前报送申报学校汇总表（{rejected.unit}）"]
    assert sent["In-Reply-To"] == rejected.rejected.message_id
    assert sent.get_body().get_content().replace("\r\n", "\n").rstrip("\n") == body.rstrip("\n")  # as previewed

    page.goto(f"{base}/reminders")
    page.locator(f"#reminder-units tr[data-unit='{rejected.unit}'] a").click()
    page.wait_for_selector("#unit-events")
    assert page.locator("#unit-events tr").filter(has_text="催报").filter(has_text=rejected.addresses[0]).count() == 1
    assert "已发送" in page.inner_text("#unit-reminders") and STAFF in page.inner_text("#unit-reminders")
    shot(page, "unit")
