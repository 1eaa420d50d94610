"""Faust agents: each reads a topic and wires pipeline code to a sink or another topic."""

from __future__ import annotations

import faust

from agents import alerting, ingest
from pipeline import health
from pipeline.alerting import rules
from pipeline.app import create_app
from pipeline.clickhouse import connect
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink
from pipeline.telemetry import IngestCounters


def build(settings: Settings) -> faust.App:
    """The worker's Faust app with every agent registered."""
    app = create_app(settings)
    sink = ClickHouseSink(lambda: connect(settings, inserts=True), settings)
    consumer = ingest.register(app, settings, sink, IngestCounters())
    if settings.metrics_port:
        app.service(health.Server(settings, consumer))  # type: ignore[arg-type]
    alerting.register(app, settings, rules.active(settings), lambda: connect(settings))
    return app
