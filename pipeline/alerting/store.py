"""Alerts in ClickHouse: each state change recorded with its queued webhook deliveries, engine
state restored from them, and every delivery attempt.

The functions take a client and block; `AlertStore` is what the worker uses: the same calls off
the event loop, through one client that is made again after any error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from pydantic import ValidationError

from pipeline.alerting.conditions import observe_all
from pipeline.alerting.counts import Query
from pipeline.alerting.engine import LastAlert
from pipeline.alerting.notify.delivery import Attempt, Queued
from pipeline.alerting.notify.webhooks import delivery_id
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.tables import ALERT_COLUMNS, ALERTS, DELIVERIES, DELIVERY_COLUMNS
from pipeline.alerting.windows import Observation
from pipeline.errors import LogweirError
from schemas.alerting import Alert

log = logging.getLogger("logweir.alerting")

# What a call raises when ClickHouse is away or refuses it: the caller skips and tries later.
UNAVAILABLE = (LogweirError, ClickHouseError, OSError)

# Deliveries queued (in `alerts` rows) with no attempt that settled them, and the attempts made.
_PENDING = f"""
SELECT q.DeliveryId, q.Target, q.Payload, q.QueuedMs, a.Attempts
FROM (
    SELECT DeliveryId, any(Target) AS Target, argMin(Payload, EventTime) AS Payload,
           toUnixTimestamp64Milli(min(EventTime)) AS QueuedMs
    FROM {ALERTS} ARRAY JOIN Targets AS Target, DeliveryIds AS DeliveryId
    WHERE notEmpty(Targets)
    GROUP BY DeliveryId
) AS q
LEFT JOIN (
    SELECT DeliveryId, max(Attempt) AS Attempts, max(Outcome IN ('sent', 'failed')) AS Settled
    FROM {DELIVERIES}
    WHERE DeliveryId != ''
    GROUP BY DeliveryId
) AS a USING (DeliveryId)
WHERE a.Settled = 0
"""

# Times in microseconds, as stored (migration 0019): a restored start is the start the firing
# was sent with, so the resolve sent after a restart names the same alert.
_LATEST = f"""
SELECT Rule, Fingerprint, argMax(GroupLabels, EventTime), argMax(Status, EventTime),
       toUnixTimestamp64Micro(argMax(StartsAt, EventTime)), toUnixTimestamp64Micro(max(EventTime))
FROM {ALERTS} WHERE Rule IN {{rules:Array(String)}} GROUP BY Rule, Fingerprint
"""


def record(client: Client, alerts: list[Alert], targets: Sequence[str]) -> None:
    """Record state changes and, in the same insert, queue their delivery to `targets`: an
    alert is never recorded without its deliveries, whatever fails after."""
    client.insert(
        ALERTS,
        [
            (
                a.status,
                a.rule,
                a.fingerprint,
                a.group,
                a.labels,
                a.annotations,
                a.summary,
                a.starts_at,
                a.ends_at,
                a.value,
                a.window_start,
                a.window_end,
                list(targets),
                [delivery_id(a, t) for t in targets],
                a.model_dump_json(),
            )
            for a in alerts
        ],
        column_names=ALERT_COLUMNS,
    )


def record_delivery(client: Client, attempt: Attempt) -> None:
    a = attempt.alert
    client.insert(
        DELIVERIES,
        [
            (
                a.fingerprint,
                a.status,
                a.starts_at,
                attempt.target,
                attempt.attempt,
                attempt.outcome,
                attempt.http_status,
                attempt.error,
                attempt.duration_ms,
                attempt.delivery_id,
            )
        ],
        column_names=DELIVERY_COLUMNS,
    )


def finished(client: Client, alert: Alert, target: str) -> bool:
    """Whether this notification was sent to `target` already, or given up."""
    return bool(
        client.query(
            f"SELECT count() FROM {DELIVERIES} WHERE DeliveryId = {{d:String}} "
            "AND Outcome IN ('sent', 'failed')",
            parameters={"d": delivery_id(alert, target)},
        ).result_rows[0][0]
    )


def pending(client: Client) -> list[Queued]:
    """Every delivery queued and neither sent nor given up, whatever its age (one past the
    give-up time gets a last attempt, then `failed`)."""
    found = []
    unreadable = 0
    for _, target, payload, queued_ms, attempts in client.query(_PENDING).result_rows:
        try:
            alert = Alert.model_validate_json(payload)
        except ValidationError:
            unreadable += 1
            continue
        found.append(Queued(alert, target, queued_ms / 1e3, attempts))
    if unreadable:
        log.error(
            "%d queued webhook deliveries have an alert this version cannot read: not resumed",
            unreadable,
        )
    return found


def latest(client: Client, rules: Sequence[str]) -> list[LastAlert]:
    """The newest stored alert of every group of `rules`: what their state is restored from."""
    if not rules:
        return []
    rows = client.query(_LATEST, parameters={"rules": list(rules)}).result_rows
    # Unix seconds as a float keep the microsecond (to within half of one until past 2200), so
    # the engine's datetime of it is the stored one again.
    return [
        LastAlert(rule, fp, group, status, starts_us / 1e6, last_us / 1e6)
        for rule, fp, group, status, starts_us, last_us in rows
    ]


T = TypeVar("T")


class AlertStore:
    """The alerting tables for the worker: every call runs in a thread, through one client
    made on first use and dropped after any error, so the next call reconnects."""

    def __init__(self, connect: Callable[[], Client]) -> None:
        self._connect = connect
        self._client: Client | None = None

    async def latest(self, rules: Sequence[str]) -> list[LastAlert]:
        return await self._call(latest, rules)

    async def observe(self, reads: Sequence[tuple[AlertRule, Query]]) -> list[Observation]:
        """What one evaluation of each rule sees, read as its condition reads: all at once."""
        return await self._call(observe_all, [(r.condition, q) for r, q in reads])

    async def record(self, alerts: list[Alert], targets: Sequence[str]) -> None:
        await self._call(record, alerts, targets)

    async def record_delivery(self, attempt: Attempt) -> None:
        await self._call(record_delivery, attempt)

    async def finished(self, alert: Alert, target: str) -> bool:
        return await self._call(finished, alert, target)

    async def pending(self) -> list[Queued]:
        return await self._call(pending)

    async def _call(self, call: Callable[..., T], *args: object) -> T:
        """`call(client, *args)` off the event loop."""
        if self._client is None:
            self._client = self._connect()
        try:
            return await asyncio.to_thread(call, self._client, *args)
        except Exception:
            self._client = None
            raise
