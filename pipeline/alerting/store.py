"""Alerts in ClickHouse: each state change recorded, and engine state restored from them."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from pipeline.alerting.engine import Engine, GroupState
from pipeline.notifier import Attempt
from schemas.alerting import Alert, AlertRule

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
            )
        ],
        column_names=DELIVERY_COLUMNS,
    )


def delivered(client: Client, alert: Alert, target: str) -> bool:
    """Whether this (fingerprint, status, start) already reached `target`."""
    return bool(
        client.query(
            "SELECT count() FROM alert_deliveries WHERE Fingerprint = {f:String} "
            "AND Status = {s:String} AND StartsAt = {t:DateTime64(3)} "
            "AND Target = {n:String} AND Outcome = 'sent'",
            parameters={
                "f": alert.fingerprint,
                "s": alert.status,
                "t": alert.starts_at,
                "n": target,
            },
        ).result_rows[0][0]
    )


def record(client: Client, alerts: list[Alert]) -> None:
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
            )
            for a in alerts
        ],
        column_names=ALERT_COLUMNS,
    )


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
