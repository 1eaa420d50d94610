"""Alert evaluation (a leader-only timer) → the alerts table, with each alert's webhook
deliveries queued in the same insert → the leader's notifier delivers them; alerts are also
published on logs.alerts for other consumers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import faust
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.alerting import counts, store
from pipeline.alerting.engine import Engine
from pipeline.alerting.notify.notifier import Notifier
from pipeline.errors import LogweirError
from pipeline.observe import telemetry
from pipeline.settings import Settings
from schemas.alerting import AlertRule

log = logging.getLogger("logweir.alerting")
T = TypeVar("T")


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
            # Recorded with their queued deliveries in one insert, then delivered from here.
            await asyncio.to_thread(store.record, client(), alerts, notifier.targets)
            await notifier.queue(alerts)
            for alert in alerts:
                telemetry.alert_raised(alert)
                await alerts_topic.send(
                    key=alert.fingerprint.encode(), value=alert.model_dump_json().encode()
                )

    async def in_thread(call: Callable[..., T], *args: object) -> T:
        """`call(client, *args)` off the event loop; an error drops the client to reconnect."""
        try:
            return await asyncio.to_thread(call, client(), *args)
        except (LogweirError, ClickHouseError, OSError):
            clients.clear()
            raise

    notifier = Notifier(
        settings,
        record=partial(in_thread, store.record_delivery),
        finished=partial(in_thread, store.finished),
        pending=partial(in_thread, store.pending),
    )

    # Every worker ticks: the leader resumes and delivers, the others let go of their queue.
    @app.timer(settings.alert_eval_interval_seconds, name="deliver_alerts")
    async def deliver() -> None:
        await notifier.tick(time.time(), app.is_leader())

    # At shutdown, attempts under way finish and are recorded (mode types signal handlers so
    # that no function matches, hence the ignore).
    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_delivering(sender: faust.App, **_: object) -> None:
        await notifier.close()
