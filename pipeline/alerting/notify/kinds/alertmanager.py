"""`alertmanager`: the Alertmanager webhook payload, version 4, with this one alert.

The field set is Alertmanager's own (github.com/prometheus/alertmanager): `Message` in
notify/webhook/webhook.go (version, groupKey, truncatedAlerts) embedding `Data` in
template/template.go (receiver, status, alerts, `notification_reason` since commit d26de09,
groupLabels, commonLabels, commonAnnotations, `routeLabels` on main, filled by
notify.GetTemplateData from the route's `labels:`, externalURL) with its `Alert` (status,
labels, annotations, startsAt, endsAt, generatorURL, fingerprint), in Go's field order.
Receivers written for Alertmanager read it unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from pipeline.alerting.notify.kinds.base import Kind, register
from schemas.alerting import Alert

# Go's zero time.Time, as Alertmanager writes the endsAt of an alert still firing.
ZERO_TIME = "0001-01-01T00:00:00Z"

# notify.NotifyReason's String() in Alertmanager's notify package, for a group of one alert:
# its first notification, a repeat of it, its resolution.
FIRST_NOTIFICATION = "first notification"
REPEAT_INTERVAL_ELAPSED = "repeat interval elapsed"
ALL_ALERTS_RESOLVED = "all alerts resolved"


def go_time(at: datetime) -> str:
    """`at` as Go's time.Time marshals to JSON (RFC 3339 in UTC with `Z`, the fraction of a
    second without trailing zeros, none at all on a whole second): `2026-11-29T18:39:10.094743Z`,
    `2026-11-29T18:39:10.0947Z`, `2026-11-29T18:39:10Z`."""
    at = at.astimezone(UTC)
    fraction = f"{at.microsecond:06d}".rstrip("0")
    return f"{at:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"


def notification_reason(alert: Alert) -> str:
    """Why this notification goes out, in Alertmanager's words: a firing notified later than
    it started is a repeat (the engine's `repeat_seconds`)."""
    if alert.status == "resolved":
        return ALL_ALERTS_RESOLVED
    if alert.notified_at is not None and alert.notified_at > alert.starts_at:
        return REPEAT_INTERVAL_ELAPSED
    return FIRST_NOTIFICATION


def group_key(group_labels: dict[str, str]) -> str:
    """The root route's key (`{}`) and the group's labels as Go prints a model.LabelSet:
    sorted, `name="value"` with the value quoted, joined by `, `."""
    pairs = (f"{k}={orjson.dumps(v).decode()}" for k, v in sorted(group_labels.items()))
    return "{}:{" + ", ".join(pairs) + "}"


def payload(alert: Alert, receiver: str) -> dict[str, object]:
    group_labels = {"alertname": alert.rule, **alert.group}
    # The summary is one of the alert's annotations, as in a Prometheus rule; with one alert
    # in the group, what all alerts share is all of it.
    annotations = (
        {"summary": alert.summary, **alert.annotations} if alert.summary else alert.annotations
    )
    return {
        "receiver": receiver,
        "status": alert.status,
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": annotations,
                "startsAt": go_time(alert.starts_at),
                "endsAt": go_time(alert.ends_at) if alert.ends_at else ZERO_TIME,
                "generatorURL": "",
                "fingerprint": alert.fingerprint,
            }
        ],
        "notification_reason": notification_reason(alert),
        "groupLabels": group_labels,
        "commonLabels": alert.labels,
        "commonAnnotations": annotations,
        # Labels the Alertmanager route sets (its `labels:`): logweir routes nothing.
        "routeLabels": {},
        "externalURL": "",
        "version": "4",
        "groupKey": group_key(group_labels),
        "truncatedAlerts": 0,
    }


KIND = register(Kind("alertmanager", lambda alert, target: orjson.dumps(payload(alert, target))))
