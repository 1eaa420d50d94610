"""Alerting against the real stack: a worker with a burst rule and webhooks to a receiver,
error lines to set it off, and what alert_deliveries holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from pipeline.alerting import tables
from pipeline.bench.producer import produce
from pipeline.clickhouse import connect
from pipeline.ops import migrations
from pipeline.settings import Settings, WebhookTarget
from pipeline.stack.broker import Broker
from tests.support.receiver import Receiver
from tests.support.stack import WorkerProcess, isolated, run, wait_for

WINDOW = 5
SECRET = "test-secret"
RULES = """
rules:
  - name: burst-errors
    match: {services: ["burst-*"], min_severity: error}
    condition: {type: threshold, count: 30}
    group_by: [service]
    resolve_after_windows: 2
    cooldown_seconds: 600
    annotations: {summary: "{service}: {value} errors"}
"""


def lines(service: str, n: int, level: str = "error") -> list[tuple[bytes | None, bytes]]:
    now = datetime.now(UTC).isoformat()
    return [
        (
            None,
            orjson.dumps(
                {
                    "ts": now,
                    "level": level,
                    "service": service,
                    "msg": f"upstream failed after {i} ms",
                }
            ),
        )
        for i in range(n)
    ]


def start_worker(
    stack: Settings, tmp_path: Path, receiver: Receiver, **overrides: Any
) -> tuple[Settings, WorkerProcess, Any]:
    """A worker with RULES and webhooks to `receiver` (generic, slack, alertmanager), ready
    once a probe line is stored; `overrides` replace any setting. Returns the settings, the
    worker and a ClickHouse client."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    defaults = dict(
        window_seconds=WINDOW,
        alert_lateness_seconds=1,
        alert_eval_interval_seconds=0.5,
        rules_file=rules_file,
        builtin_burst_rule=False,
        sink_linger_seconds=0.2,
        webhook_secret=SECRET,
        # Short enough for a dead receiver to be given up within a test.
        webhook_give_up_after_seconds=4,
        webhook_backoff_seconds=0.2,
        webhook_timeout_seconds=2,
        webhooks=[
            WebhookTarget(name="generic", url=receiver.url("/generic")),
            WebhookTarget(name="slack", url=receiver.url("/slack"), kind="slack"),
            WebhookTarget(name="am", url=receiver.url("/am"), kind="alertmanager"),
        ],
    )
    settings = isolated(stack, **{**defaults, **overrides})
    Broker(settings).create_topics(settings.topics, settings.topic_partitions)
    migrations.apply(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    worker.start()
    probe = run(produce(settings, lines("probe", 1, "info")))
    client = connect(settings)
    wait_for(
        lambda: client.query("SELECT count() FROM otel_logs").result_rows[0][0] >= 1,
        60,
        "worker ready",
        worker,
    )
    assert probe.count == 1
    return settings, worker, client


def deliveries(client: Any, *outcomes: str) -> int:
    """Attempts recorded in alert_deliveries with one of `outcomes`."""
    return int(
        client.query(
            f"SELECT count() FROM {tables.DELIVERIES} WHERE has({{o:Array(String)}}, Outcome)",
            parameters={"o": list(outcomes)},
        ).result_rows[0][0]
    )
