"""The worker's own telemetry events: one function per event, each logs and counts."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pipeline.observe import metrics

if TYPE_CHECKING:
    from aiokafka import TopicPartition

log = logging.getLogger("logweir.ingest")

# Kafka and ClickHouse clients log every failed connection attempt, many a second while a
# server is away; the worker says itself what is down and what it does about it.
DRIVER_LOGGERS = ("aiokafka", "clickhouse_connect")
DRIVER_LOG_WINDOW_SECONDS = 60.0


class OncePerWindow(logging.Filter):
    """Lets the first record of each message template through per window; the next one after
    the window says how many like it were held back."""

    def __init__(self, window_seconds: float = DRIVER_LOG_WINDOW_SECONDS) -> None:
        super().__init__()
        self.window = window_seconds
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        since, held = self._seen.get(key, (0.0, 0))
        if since and now - since < self.window:
            self._seen[key] = (since, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {self.window:.0f} s)"
        return True


# clickhouse-connect warns "Unexpected Http Driver Exception" before raising each failure the
# worker then reports itself, with what it does about it: its warnings say nothing more.
SILENCED_WARNINGS = ("clickhouse_connect.driver._backend.http_sync",)


def quiet_driver_logs() -> None:
    """Rate-limit the client libraries' loggers (a logger's filter sees only its own records,
    so each one already created gets the filter)."""
    limit = OncePerWindow()
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in DRIVER_LOGGERS:
            logging.getLogger(name).addFilter(limit)
    for name in SILENCED_WARNINGS:
        logging.getLogger(name).setLevel(logging.ERROR)


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

    def batch_written(
        self,
        tally: Tally,
        stored: int,
        dead_lettered: int,
        skipped: int,
        letter_reasons: Counter[str],
    ) -> None:
        """A batch is stored: `stored` rows and `dead_lettered` dead letters new to ClickHouse,
        `skipped` events it had already; `letter_reasons` counts the dead letters published."""
        self.consumed += tally.messages.total()
        self.events += tally.events.total()
        self.dropped += tally.dropped
        self.stored += stored
        self.dead_lettered += dead_lettered
        self.skipped += skipped
        _count_batch(tally, stored, skipped, letter_reasons)
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


def _count_batch(tally: Tally, stored: int, skipped: int, letter_reasons: Counter[str]) -> None:
    for topic, n in tally.messages.items():
        metrics.consumed.labels(topic).inc(n)
    for topic, n in tally.events.items():
        metrics.events.labels(topic).inc(n)
    for fmt, n in tally.formats.items():
        metrics.parsed.labels(fmt).inc(n)
    for reason, n in letter_reasons.items():
        metrics.deadletters.labels(reason).inc(n)
    metrics.stored.inc(stored)
    metrics.dropped.inc(tally.dropped)
    metrics.skipped.inc(skipped)


def rows_inserted(table: str, rows: int, seconds: float) -> None:
    """ClickHouse acknowledged an insert (`seconds` includes any retries before it)."""
    metrics.batch_rows.labels(table).observe(rows)
    metrics.insert_seconds.labels(table).observe(seconds)


def insert_retried() -> None:
    """A ClickHouse call failed for a reason that passes (the sink logged why) and is retried."""
    metrics.insert_retries.inc()


def incarnation_started(topic: str) -> None:
    """A partition of `topic` holds another incarnation than the one stored (the sink logged it)."""
    metrics.incarnations.labels(topic).inc()


def rebalanced(group: str) -> None:
    metrics.rebalances.labels(group).inc()


def batch_discarded(messages: int) -> None:
    """Fetched messages dropped at an assignment change, to be read again (the consumer logs)."""
    metrics.discarded.inc(messages)


def lag_observed(lags: Mapping[TopicPartition, int]) -> None:
    """The ingest consumer's lag per assigned partition; partitions no longer held vanish."""
    metrics.lag.clear()
    for tp, behind in lags.items():
        metrics.lag.labels(tp.topic, str(tp.partition)).set(behind)


class RaisedAlert(Protocol):
    """What the alert events read of an alert (`schemas.alerting.Alert`). Declared here, so
    that alerting reports to telemetry without telemetry importing any of alerting."""

    @property
    def rule(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def group(self) -> Mapping[str, str]: ...


class DeliveryAttempt(Protocol):
    """What the delivery events read of one webhook attempt (`notify.delivery.Attempt`)."""

    @property
    def alert(self) -> RaisedAlert: ...
    @property
    def target(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def outcome(self) -> str: ...
    @property
    def error(self) -> str: ...


def alert_raised(alert: RaisedAlert) -> None:
    alert_log.info("alert %s %s %s", alert.status, alert.rule, alert.group)
    metrics.alerts.labels(alert.rule, alert.status).inc()


def delivery_attempted(attempt: DeliveryAttempt) -> None:
    """One webhook attempt finished; the lines below say what a person needs of them."""
    metrics.deliveries.labels(attempt.target, attempt.outcome).inc()


def delivery_retrying(attempt: DeliveryAttempt, give_up_at: float) -> None:
    """A delivery failed and is retried: said once per delivery, not once per attempt."""
    alert_log.warning(
        "alert %s (%s) not delivered to %s yet (%s): retrying until %s UTC",
        attempt.alert.rule,
        attempt.alert.status,
        attempt.target,
        attempt.error,
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(give_up_at)),
    )


def delivery_recovered(attempt: DeliveryAttempt, queued_seconds: float) -> None:
    """A delivery that had failed got through."""
    alert_log.info(
        "alert %s (%s) delivered to %s at attempt %d, %s after it was raised",
        attempt.alert.rule,
        attempt.alert.status,
        attempt.target,
        attempt.attempt,
        _span(queued_seconds),
    )


def delivery_given_up(attempt: DeliveryAttempt, queued_seconds: float) -> None:
    """A delivery is `failed` for good: the give-up time passed (or its target is gone)."""
    alert_log.error(
        "alert %s (%s) not delivered to %s: gave up %s after it was raised, after %d attempts: %s",
        attempt.alert.rule,
        attempt.alert.status,
        attempt.target,
        _span(queued_seconds),
        attempt.attempt,
        attempt.error,
    )


def deliveries_resumed(per_target: Mapping[str, int]) -> None:
    """This worker became the leader and took over the deliveries queued in ClickHouse."""
    alert_log.info(
        "resumed %d pending webhook deliveries (%s)",
        sum(per_target.values()),
        ", ".join(f"{target}: {n}" for target, n in sorted(per_target.items())),
    )


def deliveries_pending(per_target: Mapping[str, tuple[int, float]]) -> None:
    """Pending deliveries (count, age of the oldest in seconds) per target; empty when this
    worker does not lead, so the gauges of a former leader do not linger."""
    metrics.pending_deliveries.clear()
    metrics.oldest_pending_delivery.clear()
    for target, (count, oldest) in per_target.items():
        metrics.pending_deliveries.labels(target).set(count)
        metrics.oldest_pending_delivery.labels(target).set(oldest)


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
