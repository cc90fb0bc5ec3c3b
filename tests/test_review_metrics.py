"""``GET /metrics``: Prometheus text with counts only, readable without a login."""

from __future__ import annotations

import re

from tests.test_review_app import client_for, world  # noqa: F401 (fixture)


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
