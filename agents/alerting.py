"""Alert evaluation (a leader-only timer) → the alerts table, with each alert's webhook
deliveries queued in the same insert → the leader's notifier delivers them (a timer on every
worker); alerts are also published on logs.alerts. The loop, its state and its SQL live in
pipeline/alerting (`Evaluator`, `Notifier`, `AlertStore`); this module only wires them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import faust
from clickhouse_connect.driver.client import Client

from pipeline.alerting.engine import Engine
from pipeline.alerting.evaluator import Evaluator, Publish
from pipeline.alerting.notify.notifier import Notifier
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.store import AlertStore
from pipeline.settings import Settings


def register(
    app: faust.App, settings: Settings, rules: list[AlertRule], client_factory: Callable[[], Client]
) -> None:
    interval = settings.alert_eval_interval_seconds
    store = AlertStore(client_factory)
    notifier = Notifier(settings, store)
    engine = Engine(settings.alert_lateness_seconds, settings.window_seconds)
    evaluator = Evaluator(rules, engine, store, notifier, _publisher(app, settings), interval)

    @app.timer(interval, on_leader=True, name="evaluate_alerts")
    async def evaluate() -> None:
        await evaluator.tick(time.time())

    # Every worker ticks: the leader resumes and delivers, the others let go of their queue.
    @app.timer(interval, name="deliver_alerts")
    async def deliver() -> None:
        await notifier.tick(time.time(), app.is_leader())

    # At shutdown, attempts under way finish and are recorded (mode types signal handlers so
    # that no function matches, hence the ignore).
    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_delivering(sender: faust.App, **_: object) -> None:
        await notifier.close()


def _publisher(app: faust.App, settings: Settings) -> Publish:
    topic = app.topic(settings.topic_alerts, key_serializer="raw", value_serializer="raw")

    async def publish(key: bytes, value: bytes) -> None:
        await topic.send(key=key, value=value)

    return publish
