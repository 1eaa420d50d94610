"""`alertmanager`: the Alertmanager webhook payload, version 4."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from pipeline.alerting.notify.kinds import alertmanager
from pipeline.alerting.testing import alert


def test_version_4_with_the_one_alert_its_group_and_receiver():
    a = alert(labels={"alertname": "unit-rule", "service": "api"}, summary="api failing")
    body = orjson.loads(alertmanager.KIND.body(a, "am"))
    assert (body["version"], body["receiver"], body["status"]) == ("4", "am", "firing")
    assert body["groupKey"] == '{}:{alertname="unit-rule",service="api"}'
    assert body["groupLabels"] == {"alertname": "unit-rule", "service": "api"}
    (sent,) = body["alerts"]
    assert sent["labels"] == a.labels and sent["annotations"] == {"summary": "api failing"}
    assert (sent["fingerprint"], sent["endsAt"]) == ("f1", "0001-01-01T00:00:00Z")
    assert not alertmanager.KIND.signed


def test_a_resolved_alert_has_its_end():
    ended = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    (sent,) = alertmanager.payload(alert(status="resolved", ends_at=ended), "am")["alerts"]
    assert sent["endsAt"] == ended.isoformat()
