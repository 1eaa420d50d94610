"""Telemetry events land in the worker's own Prometheus registry."""

from __future__ import annotations

from collections import Counter

from pipeline.observe import telemetry
from pipeline.observe.metrics import REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_written_batch_is_counted_by_topic_format_and_reason():
    before = {
        "consumed": value("logweir_consumed_messages_total", topic="unit.raw"),
        "events": value("logweir_events_total", topic="unit.raw"),
        "json": value("logweir_parsed_events_total", format="json"),
        "empty": value("logweir_deadletters_total", reason="empty"),
        "stored": value("logweir_stored_events_total"),
        "dropped": value("logweir_dropped_events_total"),
    }
    tally = telemetry.Tally(
        messages=Counter({"unit.raw": 5}),
        events=Counter({"unit.raw": 7}),
        formats=Counter({"json": 4}),
        dropped=1,
    )
    telemetry.IngestCounters().batch_written(
        tally, stored=4, dead_lettered=2, skipped=0, letter_reasons=Counter({"empty": 2})
    )
    assert value("logweir_consumed_messages_total", topic="unit.raw") - before["consumed"] == 5
    assert value("logweir_events_total", topic="unit.raw") - before["events"] == 7
    assert value("logweir_parsed_events_total", format="json") - before["json"] == 4
    assert value("logweir_deadletters_total", reason="empty") - before["empty"] == 2
    assert value("logweir_stored_events_total") - before["stored"] == 4
    assert value("logweir_dropped_events_total") - before["dropped"] == 1


def test_lag_gauge_forgets_partitions_no_longer_held():
    from aiokafka import TopicPartition

    telemetry.lag_observed({TopicPartition("unit.raw", 0): 3, TopicPartition("unit.raw", 1): 9})
    telemetry.lag_observed({TopicPartition("unit.raw", 1): 2})
    assert (
        REGISTRY.get_sample_value("logweir_consumer_lag", {"topic": "unit.raw", "partition": "0"})
        is None
    )
    assert value("logweir_consumer_lag", topic="unit.raw", partition="1") == 2


def test_alerts_and_webhook_attempts_are_counted_by_status_and_outcome():
    from datetime import UTC, datetime

    from pipeline.alerting.notify.notifier import Attempt
    from schemas.alerting import Alert

    now = datetime.now(UTC)
    alert = Alert(
        status="firing",
        rule="unit-burst",
        fingerprint="f",
        group={},
        labels={},
        annotations={},
        summary="",
        starts_at=now,
        value=1.0,
        window_start=now,
        window_end=now,
    )
    before = value("logweir_alerts_total", rule="unit-burst", status="firing")
    telemetry.alert_raised(alert)
    assert value("logweir_alerts_total", rule="unit-burst", status="firing") - before == 1

    sent = value("logweir_webhook_deliveries_total", target="unit-ops", outcome="retry")
    telemetry.delivery_attempted(Attempt(alert, "unit-ops", 1, "retry", 500, "HTTP 500", 3))
    assert value("logweir_webhook_deliveries_total", target="unit-ops", outcome="retry") - sent == 1
