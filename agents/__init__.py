"""The worker's agents and services: each wires pipeline code to a topic, a timer or a sink."""

from __future__ import annotations

import faust
from mode import Service

from agents import alerting, ingest
from pipeline.alerting import rules
from pipeline.app import create_app
from pipeline.clickhouse import connect
from pipeline.observe import health
from pipeline.observe.telemetry import IngestCounters
from pipeline.ops.startup import DependenciesReady
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink


def build(settings: Settings) -> tuple[faust.App, list[Service]]:
    """The worker's Faust app with every agent registered, and the services the worker starts
    before it, in order: /health first (it answers while the rest waits), then the wait for
    ClickHouse (and the schema) and Kafka, then the ingest consumer, which so never waits for
    the Faust group."""
    app = create_app(settings)
    sink = ClickHouseSink(lambda: connect(settings, inserts=True), settings)
    consumer = ingest.build(app, settings, sink, IngestCounters())
    services: list[Service] = [DependenciesReady(settings), consumer]
    group = health.GroupWatch(settings.app_id, settings.ingest_join_seconds)
    app.sensors.add(group)
    if settings.metrics_port:
        services.insert(0, health.Server(settings, consumer, group))
    alerting.register(app, settings, rules.active(settings), lambda: connect(settings))
    return app, services
