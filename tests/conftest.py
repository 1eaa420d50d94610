"""Fixtures: the real local stack (started once per session) and isolated pipelines on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.clickhouse import connect
from pipeline.ops import migrations
from pipeline.settings import Settings
from tests.support.receiver import Receiver
from tests.support.stack import WorkerProcess, isolated

ROOT = Path(__file__).resolve().parent.parent

# Ports of their own so a running demo stack (9092/8123) is left alone; LOGWEIR_TEST_PORT_BASE
# moves all three, so two test sessions on one machine do not share (and stop) one stack.
_BASE = int(os.environ.get("LOGWEIR_TEST_PORT_BASE", "19000"))
TEST_STACK = {
    "state_dir": ROOT / ".logweir" / f"test-stack-{_BASE}",
    "kafka_bootstrap": f"127.0.0.1:{_BASE + 92}",
    "clickhouse_url": f"http://127.0.0.1:{_BASE + 123}",
    "clickhouse_tcp_port": _BASE,
}


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Broker + ClickHouse for the whole session; stopped at the end if this session started it."""
    from pipeline.stack import Broker, ClickHouseServer

    settings = Settings(**TEST_STACK)  # type: ignore[arg-type]
    broker, clickhouse = Broker(settings), ClickHouseServer(settings)
    started = []
    try:
        for component in (broker, clickhouse):
            if component.start():
                started.append(component)
        yield settings
    finally:
        for component in reversed(started):
            component.stop()


@pytest.fixture
def pipeline_settings(stack: Settings) -> Settings:
    """Settings with fresh topics, database and consumer group; topics created, schema migrated."""
    from pipeline.stack.broker import Broker

    settings = isolated(stack)
    Broker(settings).create_topics(settings.topics, settings.topic_partitions)
    migrations.apply(settings)
    return settings


@pytest.fixture
def clickhouse(pipeline_settings: Settings):  # type: ignore[no-untyped-def]
    client = connect(pipeline_settings)
    yield client
    client.close()


@pytest.fixture
def worker(pipeline_settings: Settings) -> Iterator[WorkerProcess]:
    log = pipeline_settings.state_dir / "runs" / pipeline_settings.app_id / "worker.log"
    process = WorkerProcess(pipeline_settings, log)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free local port, recording what it is sent."""
    r = Receiver()
    r.start()
    yield r
    r.stop()
