"""Test doubles for alerting, shipped beside it: the alerting tables in memory, webhook
receivers, the notifier's inbox and the alerts topic, and alerts and counts made by hand.
They stand in for ClickHouse, HTTP and Kafka in unit tests of alerting's own logic (when it
fires, records, resumes, retries); the real servers are exercised by the integration and fault
tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from pipeline.alerting.counts import CountRow, Query, fold
from pipeline.alerting.engine import LastAlert
from pipeline.alerting.match import Group
from pipeline.alerting.notify.delivery import Attempt, Queued
from pipeline.alerting.notify.webhooks import delivery_id
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.windows import Observation, Series
from pipeline.settings import WebhookTarget
from schemas.alerting import Alert
from schemas.records import Severity

STARTS = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def alert(**changes: Any) -> Alert:
    """A firing alert of rule `unit-rule` for service `api`; `changes` replace any field."""
    values: dict[str, Any] = {
        "status": "firing",
        "rule": "unit-rule",
        "fingerprint": "f1",
        "group": {"service": "api"},
        "labels": {},
        "annotations": {},
        "summary": "",
        "starts_at": STARTS,
        "value": 1.0,
        "window_start": STARTS,
        "window_end": STARTS,
        **changes,
    }
    return Alert(**values)


def counted(
    points: Mapping[int, int], size: int, group: Group = (("service", "api"),)
) -> Observation:
    """What a rule sees of one group that logged `points` (second → records), in buckets of
    `size` seconds."""
    series = Series()
    for second, count in points.items():
        series.buckets[second - second % size] += count
    return Observation(series={group: series})


@dataclass
class FakeClient:
    """What alerting calls of clickhouse-connect's Client: every query is answered with
    `rows` and remembered with its parameters, every insert remembered; the first `down_for`
    calls raise as a server away does."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    queries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    inserts: list[tuple[str, list[Sequence[Any]], Sequence[str]]] = field(default_factory=list)
    down_for: int = 0

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        self._answer()
        self.queries.append((sql, dict(parameters or {})))
        return SimpleNamespace(result_rows=list(self.rows))

    def insert(
        self, table: str, data: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> None:
        self._answer()
        self.inserts.append((table, list(data), column_names))

    def _answer(self) -> None:
        if self.down_for > 0:
            self.down_for -= 1
            raise ConnectionRefusedError(111, "Connection refused")


@dataclass
class MemoryStore:
    """The alerting tables in memory: what the evaluator and the notifier read and write.

    `counts`: rows every rule reads as it would read the window counts (service globs, the
    minimum severity and the window are applied; bodies, attributes and template ids are not),
    unless `observations` has what a rule of that name sees. `down`: every call raises it, as
    ClickHouse away does; `refuse`: a method name → what that method alone raises;
    `failing_rules`: a rule name → what reading its counts raises. `clock` stamps records.
    """

    counts: list[CountRow] = field(default_factory=list)
    observations: dict[str, Observation] = field(default_factory=dict)
    alerts: list[tuple[float, Alert, list[str]]] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    queued: list[Queued] = field(default_factory=list)
    down: BaseException | None = None
    refuse: dict[str, BaseException] = field(default_factory=dict)
    failing_rules: dict[str, BaseException] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    # Awaited inside `pending`, after its snapshot was taken (a race made visible).
    before_pending: Callable[[], Awaitable[None]] | None = None

    async def latest(self, rules: Sequence[str]) -> list[LastAlert]:
        self._answer("latest")
        newest: dict[tuple[str, str], LastAlert] = {}
        for at, a, _ in self.alerts:
            if a.rule in rules:
                started = a.starts_at.timestamp()
                newest[(a.rule, a.fingerprint)] = LastAlert(
                    a.rule, a.fingerprint, a.group, a.status, started, at
                )
        return list(newest.values())

    async def observe(self, reads: Sequence[tuple[AlertRule, Query]]) -> list[Observation]:
        """What each rule sees; any rule of `failing_rules` fails the whole read."""
        self._answer("observe")
        for rule, _ in reads:
            if rule.name in self.failing_rules:
                raise self.failing_rules[rule.name]
        return [
            self.observations[rule.name] if rule.name in self.observations else self._counted(q)
            for rule, q in reads
        ]

    def _counted(self, query: Query) -> Observation:
        return fold(
            query,
            (
                row
                for row in self.counts
                if row[3] >= query.since and Severity[row[1]] >= query.match.min_severity
            ),
        )

    async def record(self, alerts: list[Alert], targets: Sequence[str]) -> None:
        self._answer("record")
        now = self.clock()
        for a in alerts:
            self.alerts.append((now, a, list(targets)))
            self.queued.extend(Queued(a, t, now, 0) for t in targets)

    async def record_delivery(self, attempt: Attempt) -> None:
        self._answer("record_delivery")
        self.attempts.append(attempt)

    async def finished(self, alert: Alert, target: str) -> bool:
        self._answer("finished")
        key = delivery_id(alert, target)
        return any(r.delivery_id == key and r.outcome != "retry" for r in self.attempts)

    async def pending(self) -> list[Queued]:
        self._answer("pending")
        snapshot = [q for q in self.queued if not await self.finished(q.alert, q.target)]
        if self.before_pending is not None:
            await self.before_pending()
        return snapshot

    def outcomes(self, target: str) -> list[tuple[int, str]]:
        """(attempt, outcome) of every attempt recorded for `target`, in order."""
        return [(r.attempt, r.outcome) for r in self.attempts if r.target == target]

    def recorded(self) -> list[tuple[str, str]]:
        """(status, rule) of every alert recorded, in order."""
        return [(a.status, a.rule) for _, a, _ in self.alerts]

    def _answer(self, method: str) -> None:
        if self.down is not None:
            raise self.down
        if method in self.refuse:
            raise self.refuse[method]


@dataclass
class Receivers:
    """Webhook receivers (a `delivery.Send`): per target an answer for its n-th request (an
    HTTP status; 0 refuses the connection), or a hang until its event is set."""

    answer: dict[str, Callable[[int], int]] = field(default_factory=dict)
    hang: dict[str, asyncio.Event] = field(default_factory=dict)
    got: list[tuple[str, str, str]] = field(default_factory=list)  # target, fingerprint, status

    async def __call__(self, a: Alert, target: WebhookTarget) -> tuple[int, str]:
        if target.name in self.hang:
            await self.hang[target.name].wait()
        n = sum(1 for t, _, _ in self.got if t == target.name) + 1
        self.got.append((target.name, a.fingerprint, a.status))
        status = self.answer.get(target.name, lambda n: 200)(n)
        if status == 0:
            raise ConnectionRefusedError(111, "Connect call failed")
        return status, ""

    def to(self, target: str) -> list[tuple[str, str]]:
        return [(f, s) for t, f, s in self.got if t == target]


@dataclass
class Outbox:
    """The notifier's side of evaluation: what was handed over for delivery."""

    targets: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    async def queue(self, alerts: Iterable[Alert]) -> None:
        self.alerts.extend(alerts)


@dataclass
class Topic:
    """logs.alerts: every (key, value) published."""

    sent: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def __call__(self, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))
