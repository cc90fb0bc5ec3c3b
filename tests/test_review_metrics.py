"""``GET /metrics``: Prometheus text with counts only, readable without a login."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from domain.decision import Decision, Reason, ReasonCode
from ledger.store import Store
from review import metrics
from tests.fixtures.review import world  # noqa: F401 (fixture)
from testkit.ledger import SUMMARY, seed
from testkit.ledger import outgoing_reply as _reply
from testkit.ledger import store_message as _store_message
from testkit.review import client_for


def test_metrics_count_messages_decisions_and_the_outbox(world):  # noqa: F811
    response = client_for(world).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    values = dict(re.findall(r"^(intake_\w+(?:\{[^}]*\})?) (\d+)$", text, re.MULTILINE))
    # The review world holds one increase decided "review", its reply sent.
    assert values['intake_submissions{decision="review"}'] == "1"
    assert int(values['intake_replies{status="sent"}']) + int(values['intake_replies{status="queued"}']) == 1
    assert values["intake_queue_depth"] == "0"
    assert "@" not in text  # no addresses, no names


def test_metrics_give_seconds_per_stage_for_recently_answered_mail(ledger_engine):
    store = Store(ledger_engine)
    seed(ledger_engine, units=1)
    for uid in (1, 2):
        message, _ = _store_message(store, uid)
        store.record_decision(message.id, claim=SUMMARY, forms=[], decision=Decision.from_reasons(
            [Reason(ReasonCode.ATTACHMENT_MISSING)]), reply=_reply(uid))
    now = datetime.now(UTC)
    for reply in store.queued_replies(now + timedelta(seconds=1)):
        store.mark_reply_sent(reply.id, now + timedelta(seconds=3))
    text = metrics.render(ledger_engine, now=now + timedelta(seconds=4))
    values = dict(re.findall(r"^(intake_stage_seconds\S*) ([\d.]+)$", text, re.MULTILINE))
    for stage in ("fetch", "decide", "send"):
        assert values[f'intake_stage_seconds_count{{stage="{stage}"}}'] == "2"
    assert 2.0 <= float(values['intake_stage_seconds{stage="send",quantile="0.5"}']) <= 5.0
    assert float(values['intake_stage_seconds{stage="decide",quantile="0.95"}']) < 60
    # Answered more than a day ago: no longer in the summary.
    later = metrics.render(ledger_engine, now=now + timedelta(days=2))
    assert 'intake_stage_seconds_count{stage="send"} 0' in later
