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
