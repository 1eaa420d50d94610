"""The request for one delivery: its body (built by the target's kind, see `kinds/`), its
headers, its signature, and the delivery id that tells one notification to one target."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

from pipeline.alerting.notify import kinds
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

    A notification is the alert's (fingerprint, status, start, notification time): a repeat
    of a firing keeps its start, so only its notification time makes it a delivery of its
    own. The start counts to the millisecond and an alert without a notification time leaves
    it out, so a delivery queued by an earlier version resumes under the id it was queued with.
    """
    starts_ms = (alert.starts_at - _EPOCH) // timedelta(milliseconds=1)
    parts = [alert.fingerprint, alert.status, str(starts_ms), target]
    if alert.notified_at is not None:
        parts.append(str((alert.notified_at - _EPOCH) // timedelta(microseconds=1)))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `timestamp.body`; receivers recompute it and reject old timestamps."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def request(alert: Alert, target: WebhookTarget, secret: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers to POST for `alert` to `target`."""
    kind = kinds.get(target.kind)
    body = kind.body(alert, target.name)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "logweir",
        DELIVERY_HEADER: delivery_id(alert, target.name),
    }
    if kind.signed and secret:
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    return body, headers
