"""The worker: the Faust app with its agents, and the services started before it."""

from __future__ import annotations

import argparse
import sys

import faust
from faust.worker import Worker
from mode import Service
from pydantic import ValidationError

from agents import alerting, ingest
from pipeline import group_leave
from pipeline.alerting import rules
from pipeline.app import create_app
from pipeline.clickhouse import connect
from pipeline.errors import LogweirError
from pipeline.observe import health, telemetry
from pipeline.ops import memory
from pipeline.ops.startup import DependenciesReady
from pipeline.settings import Settings, invalid_settings
from pipeline.sink import ClickHouseSink


def build(settings: Settings) -> tuple[faust.App, list[Service]]:
    """The Faust app with every agent registered, and the services the worker starts before
    it, in order: /health first (it answers while the rest waits), then the wait for
    ClickHouse (and the schema) and Kafka, then the ingest consumer, which so never waits for
    the Faust group (alerting's leader election)."""
    app = create_app(settings)
    sink = ClickHouseSink(lambda: connect(settings, inserts=True), settings)
    consumer = ingest.build(app, settings, sink)
    group = health.GroupWatch(settings.app_id, settings.ingest_join_seconds)
    app.sensors.add(group)
    alerting.register(app, settings, rules.active(settings), lambda: connect(settings))
    services: list[Service] = [DependenciesReady(settings), consumer]
    if settings.metrics_port:
        services.insert(0, health.Server(settings, consumer, group))
    return app, services


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agents", description=__doc__)
    parser.add_argument("--loglevel", default="info", help="debug, info, warning or error")
    loglevel = parser.parse_args().loglevel
    try:
        app, services = build(Settings())
    except ValidationError as exc:
        sys.exit(f"error: {invalid_settings(exc)}")
    except LogweirError as exc:  # a rules or formats file, a hook that cannot be imported …
        sys.exit(f"error: {exc}")
    memory.collect_cycles_periodically()
    telemetry.quiet_driver_logs()
    group_leave.install()
    Worker(app, *services, loglevel=loglevel, quiet=True).execute_from_commandline()
