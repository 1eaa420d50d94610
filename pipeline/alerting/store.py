"""Alerts in ClickHouse: each state change recorded with its queued webhook deliveries, engine
state restored from them, and every delivery attempt."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from clickhouse_connect.driver.client import Client
from pydantic import ValidationError

from pipeline.alerting.engine import Engine, GroupState
from pipeline.alerting.notify.notifier import Attempt, Queued
from pipeline.alerting.notify.webhooks import delivery_id
from schemas.alerting import Alert, AlertRule

log = logging.getLogger("logweir.alerting")

ALERT_COLUMNS = (
    "Status",
    "Rule",
    "Fingerprint",
    "GroupLabels",
    "Labels",
    "Annotations",
    "Summary",
    "StartsAt",
    "EndsAt",
    "Value",
    "WindowStart",
    "WindowEnd",
    "Targets",
    "DeliveryIds",
    "Payload",
)


DELIVERY_COLUMNS = (
    "Fingerprint",
    "Status",
    "StartsAt",
    "Target",
    "Attempt",
    "Outcome",
    "HttpStatus",
    "Error",
    "DurationMs",
    "DeliveryId",
)

# Deliveries queued (in `alerts` rows) with no attempt that settled them, and the attempts made.
_PENDING = """
SELECT q.DeliveryId, q.Target, q.Payload, q.QueuedMs, a.Attempts
FROM (
    SELECT DeliveryId, any(Target) AS Target, argMin(Payload, EventTime) AS Payload,
           toUnixTimestamp64Milli(min(EventTime)) AS QueuedMs
    FROM alerts ARRAY JOIN Targets AS Target, DeliveryIds AS DeliveryId
    WHERE notEmpty(Targets)
    GROUP BY DeliveryId
) AS q
LEFT JOIN (
    SELECT DeliveryId, max(Attempt) AS Attempts, max(Outcome IN ('sent', 'failed')) AS Settled
    FROM alert_deliveries
    WHERE DeliveryId != ''
    GROUP BY DeliveryId
) AS a USING (DeliveryId)
WHERE a.Settled = 0
"""


def record(client: Client, alerts: list[Alert], targets: Sequence[str]) -> None:
    """Record state changes and, in the same insert, queue their delivery to `targets`: an
    alert is never recorded without its deliveries, whatever fails after."""
    client.insert(
        "alerts",
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
        "alert_deliveries",
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
            "SELECT count() FROM alert_deliveries WHERE DeliveryId = {d:String} "
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


def restore(client: Client, engine: Engine, rules: list[AlertRule]) -> int:
    """Load the last state of every group of the active rules; returns how many are firing."""
    names = [r.name for r in rules]
    if not names:
        return 0
    rows = client.query(
        "SELECT Rule, Fingerprint, argMax(GroupLabels, EventTime), argMax(Status, EventTime), "
        "toUnixTimestamp64Milli(argMax(StartsAt, EventTime)), "
        "toUnixTimestamp64Milli(max(EventTime)) FROM alerts "
        "WHERE Rule IN {rules:Array(String)} GROUP BY Rule, Fingerprint",
        parameters={"rules": names},
    ).result_rows
    firing = 0
    for rule, fp, group, status, starts_ms, last_ms in rows:
        state = GroupState(fingerprint=fp)
        if status == "firing":
            state.firing = True
            state.starts_at, state.last_notified = starts_ms / 1e3, last_ms / 1e3
            firing += 1
        else:
            state.resolved_at = last_ms / 1e3
        engine.restore(rule, tuple(sorted(group.items())), state)
    return firing
