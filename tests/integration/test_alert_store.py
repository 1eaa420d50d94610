"""The alerting tables in the real ClickHouse: what a new leader finds pending and delivers,
and alert times kept to the microsecond."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.alerting import store
from pipeline.alerting.conditions.threshold import Threshold
from pipeline.alerting.engine import Engine
from pipeline.alerting.notify.delivery import Attempt
from pipeline.alerting.notify.kinds import alertmanager
from pipeline.alerting.notify.notifier import Notifier
from pipeline.alerting.notify.webhooks import delivery_id
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.store import AlertStore
from pipeline.alerting.testing import Receivers, counted
from pipeline.clickhouse import connect
from pipeline.settings import WebhookTarget
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


def test_alert_times_come_back_to_the_microsecond_and_a_resolve_keeps_the_start(clickhouse):
    window = 10
    rule = AlertRule(
        name="precise", condition=Threshold(count=1), window_seconds=window, resolve_after_windows=1
    )
    t0 = int(time.time()) // window * window
    firing_engine = Engine(lateness=0, default_window=window)
    (fired,) = firing_engine.evaluate(rule, counted({t0: 1}, window), t0 + 1.094743)
    assert fired.starts_at.microsecond == 94743
    store.record(clickhouse, [fired], [])
    stored_rows = clickhouse.query("SELECT StartsAt FROM alerts WHERE Rule = 'precise'")
    ((stored,),) = stored_rows.result_rows
    assert stored.replace(tzinfo=UTC) == fired.starts_at

    # A worker that becomes the leader restores the state from the table, then resolves.
    restored_engine = Engine(lateness=0, default_window=window)
    assert restored_engine.restore(store.latest(clickhouse, ["precise"])) == 1
    (resolved,) = restored_engine.evaluate(rule, counted({t0: 1}, window), t0 + 2 * window)
    assert resolved.status == "resolved" and resolved.starts_at == fired.starts_at
    store.record(clickhouse, [resolved], [])
    ((ends,),) = clickhouse.query(
        "SELECT EndsAt FROM alerts WHERE Rule = 'precise' AND Status = 'resolved'"
    ).result_rows
    assert ends.replace(tzinfo=UTC) == resolved.ends_at
    # What an Alertmanager receiver pairs the two by is the same string.
    (sent_firing,) = alertmanager.payload(fired, "am")["alerts"]
    (sent_resolved,) = alertmanager.payload(resolved, "am")["alerts"]
    assert sent_resolved["startsAt"] == sent_firing["startsAt"]
    assert sent_firing["startsAt"].endswith(".094743Z")


async def test_a_repeat_queued_before_a_restart_is_delivered_once_after_it(
    clickhouse, pipeline_settings
):
    now = datetime.now(UTC)
    first = alert("r").model_copy(update={"notified_at": now - timedelta(seconds=30)})
    repeat = first.model_copy(update={"notified_at": now, "value": 99.0})  # keeps its start
    store.record(clickhouse, [first], ["ops"])
    store.record_delivery(clickhouse, Attempt(first, "ops", 1, "sent", 200, "", 3))
    store.record(clickhouse, [repeat], ["ops"])  # recorded; the worker dies before sending it

    settings = pipeline_settings.model_copy(
        update={"webhooks": [WebhookTarget(name="ops", url="http://127.0.0.1:1/ops")]}
    )
    receivers = Receivers()
    leader = Notifier(settings, AlertStore(lambda: connect(pipeline_settings)), send=receivers)
    try:
        wait_until = time.monotonic() + 120
        while not store.finished(clickhouse, repeat, "ops"):
            assert time.monotonic() < wait_until, "the repeat was not delivered"
            await leader.tick(time.time(), leading=True)
            await asyncio.sleep(0.05)
        for _ in range(20):  # a few more ticks: nothing else goes out
            await leader.tick(time.time(), leading=True)
            await asyncio.sleep(0.01)
    finally:
        await leader.close()

    assert receivers.got == [("ops", "r", "firing")]
    assert store.pending(clickhouse) == []
    ((delivered,),) = clickhouse.query(
        "SELECT groupArray(DeliveryId) FROM alert_deliveries WHERE Outcome = 'sent'"
    ).result_rows
    assert sorted(delivered) == sorted([delivery_id(first, "ops"), delivery_id(repeat, "ops")])
