"""Alert evaluation (a leader-only timer → logs.alerts) and webhook delivery (logs.alerts →)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import faust
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline import telemetry
from pipeline.alerting import counts, store
from pipeline.alerting.engine import Engine
from pipeline.errors import LogweirError
from pipeline.notifier import Attempt, Notifier
from pipeline.settings import Settings
from schemas.alerting import Alert, AlertRule

log = logging.getLogger("logweir.alerting")


def register(
    app: faust.App, settings: Settings, rules: list[AlertRule], client_factory: Callable[[], Client]
) -> None:
    alerts_topic = app.topic(settings.topic_alerts, key_serializer="raw", value_serializer="raw")
    engine = Engine(settings.alert_lateness_seconds, settings.window_seconds)
    clients: list[Client] = []  # zero or one; emptied after an error to reconnect

    def client() -> Client:
        if not clients:
            clients.append(client_factory())
        return clients[0]

    last_tick = {"at": 0.0}

    @app.timer(settings.alert_eval_interval_seconds, on_leader=True, name="evaluate_alerts")
    async def evaluate() -> None:
        try:
            await tick(time.time())
        except (LogweirError, ClickHouseError, OSError) as exc:
            # ClickHouse is away: skip this tick, reconnect, and restore state from the alerts
            # table on the next one (a change decided here may not have been recorded).
            clients.clear()
            last_tick["at"] = 0.0
            log.warning("alerts not evaluated: %s", str(exc).strip().splitlines()[0][:300])

    async def tick(now: float) -> None:
        # A gap means this worker was not the leader meanwhile: another one may have fired.
        if now - last_tick["at"] > 5 * settings.alert_eval_interval_seconds:
            firing = await asyncio.to_thread(store.restore, client(), engine, rules)
            log.info("alert state restored: %d groups firing", firing)
        last_tick["at"] = now
        for rule in rules:
            try:
                seen = await asyncio.to_thread(counts.observation, client(), engine, rule, now)
            except Exception as exc:  # noqa: BLE001 - one failing rule must not stop the rest
                clients.clear()
                log.warning("rule %s not evaluated: %s", rule.name, str(exc).splitlines()[0])
                continue
            alerts = engine.evaluate(rule, seen, now)
            if not alerts:
                continue
            await asyncio.to_thread(store.record, client(), alerts)
            for alert in alerts:
                telemetry.alert_raised(alert)
                await alerts_topic.send(
                    key=alert.fingerprint.encode(), value=alert.model_dump_json().encode()
                )

    async def record(attempt: Attempt) -> None:
        telemetry.delivery_attempted(attempt)
        a = attempt.alert
        try:
            await asyncio.to_thread(store.record_delivery, client(), attempt)
        except (LogweirError, ClickHouseError, OSError) as exc:
            clients.clear()
            log.warning(
                "delivery of %s to %s (%s) not recorded: %s",
                a.rule,
                attempt.target,
                attempt.outcome,
                str(exc).strip().splitlines()[0][:300],
            )

    async def already_sent(alert: Alert, target: str) -> bool:
        try:
            return await asyncio.to_thread(store.delivered, client(), alert, target)
        except (LogweirError, ClickHouseError, OSError):
            clients.clear()
            return False  # unknown: deliver (at least once) rather than risk never

    notifier = Notifier(settings, record, already_sent)

    @app.agent(alerts_topic, name="notify")
    async def notify(stream: faust.StreamT) -> None:
        try:
            async for value in stream:
                try:
                    alert = Alert.model_validate_json(value)
                except ValueError as exc:
                    log.error("unreadable alert on %s: %s", settings.topic_alerts, exc)
                    continue
                notifier.submit(alert)
        finally:
            await notifier.close()
