"""Webhook payloads: generic signed JSON, Slack incoming-webhook, Alertmanager v4."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import orjson

from pipeline.settings import WebhookTarget
from schemas.alerting import Alert

SIGNATURE_HEADER = "X-Logweir-Signature"
TIMESTAMP_HEADER = "X-Logweir-Timestamp"
# The same on every attempt of one delivery, including attempts after a worker restart: a
# receiver that stores it drops the rare repeat (a 2xx the worker died before recording).
DELIVERY_HEADER = "X-Logweir-Delivery"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def delivery_id(alert: Alert, target: str) -> str:
    """One notification to one target: what "sent once" is checked against.

    A notification is the alert's (fingerprint, status, start); the start counts to the
    millisecond, as the alerts table stores it (a state restored from there has no more).
    """
    starts_ms = (alert.starts_at - _EPOCH) // timedelta(milliseconds=1)
    key = "\x1f".join((alert.fingerprint, alert.status, str(starts_ms), target))
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `timestamp.body`; receivers recompute it and reject old timestamps."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def request(alert: Alert, target: WebhookTarget, secret: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers to POST for `alert` to `target`."""
    if target.kind == "slack":
        body = orjson.dumps(slack(alert))
    elif target.kind == "alertmanager":
        body = orjson.dumps(alertmanager(alert, target.name))
    else:
        body = alert.model_dump_json().encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "logweir",
        DELIVERY_HEADER: delivery_id(alert, target.name),
    }
    if target.kind == "generic" and secret:
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    return body, headers


def slack(alert: Alert) -> dict[str, object]:
    icon = ":red_circle:" if alert.status == "firing" else ":large_green_circle:"
    title = f"{icon} [{alert.status.upper()}] {alert.rule}"
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in alert.group.items()]
    fields.append({"type": "mrkdwn", "text": f"*count*\n{int(alert.value)}"})
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.summary[:3000]}},
        {"type": "section", "fields": fields[:10]},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"window {alert.window_start:%H:%M:%S}–"
                    f"{alert.window_end:%H:%M:%S} UTC · fingerprint `{alert.fingerprint}`",
                }
            ],
        },
    ]
    return {"text": f"{title}: {alert.summary}", "blocks": blocks}


def alertmanager(alert: Alert, receiver: str) -> dict[str, object]:
    """The Alertmanager webhook payload, version 4, with this one alert."""
    group_labels = {"alertname": alert.rule, **alert.group}
    ends = alert.ends_at.isoformat() if alert.ends_at else "0001-01-01T00:00:00Z"
    return {
        "version": "4",
        "groupKey": "{}:"
        + "{"
        + ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
        + "}",
        "truncatedAlerts": 0,
        "status": alert.status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": alert.labels,
        "commonAnnotations": alert.annotations,
        "externalURL": "",
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": {"summary": alert.summary, **alert.annotations},
                "startsAt": alert.starts_at.isoformat(),
                "endsAt": ends,
                "generatorURL": "",
                "fingerprint": alert.fingerprint,
            }
        ],
    }
