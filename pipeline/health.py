"""The worker's /metrics and /health endpoints: an aiohttp server running as a worker service."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline import telemetry
from pipeline.consumer import IngestConsumer
from pipeline.metrics import REGISTRY
from pipeline.settings import Settings

log = logging.getLogger("logweir.health")

# A probe answers within this long or counts as failed; its answer is reused for as long, so
# a scraper polling every second costs the broker and ClickHouse one request each, not more.
PROBE_SECONDS = 1.0


def partition_lag(
    highwaters: Mapping[TopicPartition, int | None], positions: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Messages behind per partition: the fetch high watermark minus the next offset to fetch.

    A partition with no watermark yet (nothing fetched since it was assigned) is left out: its
    lag is unknown, not zero. The high watermark comes with every fetch response; the broker's
    ListOffsets (end_offsets) is not used because the local broker answers it too low.
    """
    return {
        tp: max(0, high - positions[tp])
        for tp, high in highwaters.items()
        if high is not None and tp in positions
    }


async def consumer_lag(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    assigned = consumer.assignment()
    highwaters = {tp: consumer.highwater(tp) for tp in assigned}
    positions: dict[TopicPartition, int] = {}
    for tp, high in highwaters.items():
        if high is None:
            continue  # position() could wait for an offset reset: not on a scrape
        try:
            positions[tp] = await consumer.position(tp)
        except IllegalStateError:
            continue  # revoked meanwhile
    return partition_lag(highwaters, positions)


def verdict(
    broker: bool, clickhouse: bool, lag: int, max_lag: int, partitions: int
) -> dict[str, Any]:
    """The /health document; "ok" only when both backends answer and lag is within bounds."""
    lag_ok = lag <= max_lag
    return {
        "status": "ok" if broker and clickhouse and lag_ok else "degraded",
        "broker": broker,
        "clickhouse": clickhouse,
        "lag": lag,
        "lag_ok": lag_ok,
        "partitions": partitions,
    }


class Probe:
    """A yes/no check with a timeout, its answer cached for `PROBE_SECONDS`."""

    def __init__(self, check: Callable[[], Awaitable[bool]]) -> None:
        self._check = check
        self._answer = False
        self._expires = 0.0

    async def __call__(self) -> bool:
        if time.monotonic() >= self._expires:
            try:
                self._answer = await asyncio.wait_for(self._check(), PROBE_SECONDS)
            except Exception:  # noqa: BLE001 - any failure to answer is the answer "no"
                self._answer = False
            self._expires = time.monotonic() + PROBE_SECONDS
        return self._answer


class Server(Service):  # type: ignore[misc]
    """Serves /metrics (Prometheus text) and /health (JSON, 200 ok / 503 degraded)."""

    def __init__(self, settings: Settings, ingest: IngestConsumer[Any]) -> None:
        super().__init__()
        self.settings = settings
        self.ingest = ingest
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.broker_up = Probe(self._broker_answers)
        self.clickhouse_up = Probe(self._clickhouse_answers)

    async def on_start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = self.settings.metrics_host, self.settings.metrics_port
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as exc:
            # Ingesting matters more than being watched: keep working, but say it loudly.
            log.error(
                "/metrics and /health are off: %s:%d cannot be opened (%s); set "
                "LOGWEIR_METRICS_PORT to a free port (0 turns them off)",
                host,
                port,
                exc.strerror or exc,
            )
            return
        log.info("metrics at http://%s:%d/metrics, health at /health", host, port)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def lag(self) -> dict[TopicPartition, int]:
        consumer = self.ingest.consumer
        lags = await consumer_lag(consumer) if consumer is not None else {}
        telemetry.lag_observed(lags)
        return lags

    async def report(self) -> dict[str, Any]:
        broker, clickhouse = await asyncio.gather(self.broker_up(), self.clickhouse_up())
        consumer = self.ingest.consumer
        partitions = len(consumer.assignment()) if consumer is not None else 0
        return verdict(
            broker,
            clickhouse,
            sum((await self.lag()).values()),
            self.settings.health_max_lag,
            partitions,
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.lag()
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _health(self, request: web.Request) -> web.Response:
        report = await self.report()
        return web.Response(
            body=orjson.dumps(report),
            content_type="application/json",
            status=200 if report["status"] == "ok" else 503,
        )

    async def _broker_answers(self) -> bool:
        consumer = self.ingest.consumer
        if consumer is None:
            return False
        await consumer.topics()  # a metadata request: answered only while the cluster is up
        return True

    async def _clickhouse_answers(self) -> bool:
        assert self._session is not None
        url = f"{self.settings.clickhouse_url.rstrip('/')}/ping"
        async with self._session.get(url) as response:
            return response.status == 200
