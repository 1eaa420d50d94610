"""`alertmanager`: the Alertmanager webhook payload, version 4, with Alertmanager's field set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson

from pipeline.alerting.notify.kinds import alertmanager
from pipeline.alerting.testing import STARTS, alert

# Every key Alertmanager's webhook sends: notify/webhook Message + template Data, and Alert.
MESSAGE_KEYS = [
    "receiver",
    "status",
    "alerts",
    "notification_reason",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "routeLabels",
    "externalURL",
    "version",
    "groupKey",
    "truncatedAlerts",
]
ALERT_KEYS = [
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
]


def test_version_4_with_the_one_alert_its_group_and_receiver():
    a = alert(
        labels={"alertname": "unit-rule", "service": "api"},
        annotations={"runbook": "https://wiki/api"},
        summary="api failing",
        notified_at=STARTS,
    )
    body = orjson.loads(alertmanager.KIND.body(a, "am"))
    assert list(body) == MESSAGE_KEYS
    assert (body["version"], body["receiver"], body["status"]) == ("4", "am", "firing")
    assert (body["truncatedAlerts"], body["routeLabels"], body["externalURL"]) == (0, {}, "")
    assert body["groupKey"] == '{}:{alertname="unit-rule", service="api"}'
    assert body["groupLabels"] == {"alertname": "unit-rule", "service": "api"}
    assert body["commonLabels"] == a.labels
    (sent,) = body["alerts"]
    assert list(sent) == ALERT_KEYS
    assert sent["labels"] == a.labels
    assert sent["annotations"] == {"summary": "api failing", "runbook": "https://wiki/api"}
    # One alert in the group: what all its alerts share is everything it carries.
    assert body["commonAnnotations"] == sent["annotations"]
    assert (sent["fingerprint"], sent["endsAt"]) == ("f1", "0001-01-01T00:00:00Z")
    assert not alertmanager.KIND.signed


def test_times_are_written_as_go_marshals_them_in_utc_with_z():
    starts = datetime(2026, 11, 29, 18, 39, 10, 94743, tzinfo=UTC)
    (sent,) = alertmanager.payload(alert(starts_at=starts), "am")["alerts"]
    assert sent["startsAt"] == "2026-11-29T18:39:10.094743Z"
    # Another zone is written in UTC; trailing zeros of the fraction are left out.
    elsewhere = datetime(2026, 11, 29, 21, 39, 10, 94700, tzinfo=timezone(timedelta(hours=2)))
    assert alertmanager.go_time(elsewhere) == "2026-11-29T19:39:10.0947Z"
    assert alertmanager.go_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "2026-01-02T03:04:05Z"
    )


def test_a_resolved_alert_has_its_end_and_says_all_alerts_resolved():
    ended = datetime(2024, 5, 1, 13, 0, 0, 250000, tzinfo=UTC)
    body = alertmanager.payload(alert(status="resolved", ends_at=ended, notified_at=ended), "am")
    (sent,) = body["alerts"]
    assert (body["status"], sent["status"]) == ("resolved", "resolved")
    assert sent["endsAt"] == "2024-05-01T13:00:00.25Z"
    assert body["notification_reason"] == "all alerts resolved"


def test_the_notification_reason_tells_a_first_firing_from_a_repeat():
    first = alert(notified_at=STARTS)
    repeat = alert(notified_at=STARTS + timedelta(seconds=300))
    assert alertmanager.payload(first, "am")["notification_reason"] == "first notification"
    assert alertmanager.payload(repeat, "am")["notification_reason"] == "repeat interval elapsed"
    (sent,) = alertmanager.payload(repeat, "am")["alerts"]
    assert sent["startsAt"] == "2024-05-01T12:00:00.123456Z"  # a repeat keeps its start


def test_a_label_value_is_quoted_in_the_group_key_as_go_quotes_it():
    a = alert(group={"service": 'say "hi"'})
    assert alertmanager.payload(a, "am")["groupKey"] == (
        '{}:{alertname="unit-rule", service="say \\"hi\\""}'
    )
