"""Queued webhook deliveries in the real ClickHouse: what a new leader finds pending."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.alerting import store
from pipeline.alerting.notify.delivery import Attempt
from pipeline.alerting.notify.webhooks import delivery_id
from schemas.alerting import Alert

pytestmark = pytest.mark.integration


def alert(fingerprint: str, status: str = "firing") -> Alert:
    now = datetime.now(UTC)
    return Alert(
        status=status,  # type: ignore[arg-type]
        rule="store-test",
        fingerprint=fingerprint,
        group={"service": fingerprint},
        labels={"alertname": "store-test"},
        annotations={},
        summary=f"{fingerprint} is failing",
        starts_at=now - timedelta(seconds=30),
        value=42.0,
        window_start=now - timedelta(seconds=60),
        window_end=now,
    )


def test_pending_is_what_was_queued_and_not_yet_sent_or_given_up(clickhouse):
    a, b, c = alert("a"), alert("b"), alert("c")
    before = time.time()
    store.record(clickhouse, [a, b], ["ops", "slack"])
    store.record(clickhouse, [c], [])  # no targets then: nothing queued
    store.record_delivery(clickhouse, Attempt(a, "ops", 1, "retry", 503, "HTTP 503", 5))
    store.record_delivery(clickhouse, Attempt(a, "ops", 2, "retry", 0, "refused", 1))
    store.record_delivery(clickhouse, Attempt(a, "slack", 1, "sent", 200, "", 4))
    store.record_delivery(clickhouse, Attempt(b, "slack", 1, "retry", 0, "refused", 1))
    store.record_delivery(clickhouse, Attempt(b, "slack", 2, "failed", 0, "refused", 1))
    # Recorded again with the same notification (as a leader that restored state could):
    # still one delivery per target, queued at the first time.
    store.record(clickhouse, [a], ["ops", "slack"])

    pending = store.pending(clickhouse)

    assert sorted((q.alert.fingerprint, q.target, q.attempts) for q in pending) == [
        ("a", "ops", 2),
        ("b", "ops", 0),
    ]
    resumed = next(q for q in pending if q.alert.fingerprint == "a")
    assert resumed.alert == a  # the alert as it was raised, to the microsecond
    assert before - 5 <= resumed.queued_at <= time.time() + 5
    assert store.finished(clickhouse, a, "slack") and store.finished(clickhouse, b, "slack")
    assert not store.finished(clickhouse, a, "ops")
    ((ids,),) = clickhouse.query(
        "SELECT DISTINCT DeliveryId FROM alert_deliveries WHERE Target = 'ops'"
    ).result_rows
    assert ids == delivery_id(a, "ops")
