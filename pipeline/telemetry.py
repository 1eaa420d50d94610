"""The worker's own telemetry events: one function per event, each logs and counts."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline import metrics

if TYPE_CHECKING:  # the sink and the notifier report here: no import cycle at run time
    from aiokafka import TopicPartition

    from pipeline.notifier import Attempt
    from pipeline.sink import WriteResult
    from schemas.alerting import Alert
    from schemas.records import DeadLetter

log = logging.getLogger("logweir.ingest")
alert_log = logging.getLogger("logweir.alerting")


@dataclass(slots=True)
class Tally:
    """What one batch held, counted while it was prepared (so metrics cost a few dict
    updates per batch, not a metric call per event)."""

    messages: Counter[str] = field(default_factory=Counter)  # per topic
    events: Counter[str] = field(default_factory=Counter)  # per topic
    formats: Counter[str] = field(default_factory=Counter)  # parsed records per format
    dropped: int = 0  # by a user hook, on purpose


@dataclass
class IngestCounters:
    """Running totals of what became of every consumed message; logged every interval."""

    interval_seconds: float = 10.0
    consumed: int = 0  # Kafka messages
    events: int = 0  # events in them (a message may carry several)
    stored: int = 0
    dead_lettered: int = 0
    dropped: int = 0  # by a user hook, on purpose
    skipped: int = 0
    _last_report: float = field(default_factory=time.monotonic)

    def batch_written(self, tally: Tally, result: WriteResult, letters: list[DeadLetter]) -> None:
        consumed, events = tally.messages.total(), tally.events.total()
        self.consumed += consumed
        self.events += events
        self.dropped += tally.dropped
        self.stored += result.stored
        self.dead_lettered += result.dead_lettered
        self.skipped += result.skipped
        _count_batch(tally, result, letters)
        now = time.monotonic()
        if now - self._last_report >= self.interval_seconds:
            self._last_report = now
            log.info(
                "consumed %d messages, %d events: stored %d, dead-lettered %d, dropped by hooks "
                "%d, skipped as already stored %d",
                self.consumed,
                self.events,
                self.stored,
                self.dead_lettered,
                self.dropped,
                self.skipped,
            )


def _count_batch(tally: Tally, result: WriteResult, letters: list[DeadLetter]) -> None:
    for topic, n in tally.messages.items():
        metrics.consumed.labels(topic).inc(n)
    for topic, n in tally.events.items():
        metrics.events.labels(topic).inc(n)
    for fmt, n in tally.formats.items():
        metrics.parsed.labels(fmt).inc(n)
    for reason, n in Counter(letter.reason for letter in letters).items():
        metrics.deadletters.labels(reason).inc(n)
    metrics.stored.inc(result.stored)
    metrics.dropped.inc(tally.dropped)
    metrics.skipped.inc(result.skipped)


def rows_inserted(table: str, rows: int, seconds: float) -> None:
    """ClickHouse acknowledged an insert (`seconds` includes any retries before it)."""
    metrics.batch_rows.labels(table).observe(rows)
    metrics.insert_seconds.labels(table).observe(seconds)


def insert_retried() -> None:
    """A ClickHouse call failed for a reason that passes (the sink logged why) and is retried."""
    metrics.insert_retries.inc()


def lag_observed(lags: Mapping[TopicPartition, int]) -> None:
    """The ingest consumer's lag per assigned partition; partitions no longer held vanish."""
    metrics.lag.clear()
    for tp, behind in lags.items():
        metrics.lag.labels(tp.topic, str(tp.partition)).set(behind)


def alert_raised(alert: Alert) -> None:
    alert_log.info("alert %s %s %s", alert.status, alert.rule, alert.group)
    metrics.alerts.labels(alert.rule, alert.status).inc()


def delivery_attempted(attempt: Attempt) -> None:
    """One webhook attempt finished (the notifier logs the final failures itself)."""
    metrics.deliveries.labels(attempt.target, attempt.outcome).inc()
