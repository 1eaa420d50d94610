"""The worker's /metrics and /health endpoints: an aiohttp server running as a worker service."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from faust import Sensor
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline.ingest.consumer import IngestConsumer
from pipeline.kafka_auth import client_options
from pipeline.observe import endpoint, telemetry
from pipeline.observe.metrics import REGISTRY
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
    broker: bool,
    clickhouse: bool,
    lag: int,
    max_lag: int,
    partitions: int,
    *,
    waiting: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """The /health document; "ok" only when both backends answer, lag is within bounds, the
    ingest consumer owns partitions (`waiting` says why not) and the Faust group is settled
    (`group` says why not). `reasons` says, in words, what is wrong."""
    lag_ok = lag <= max_lag
    reasons = [
        reason
        for reason in (
            None if broker else "Kafka is not answering",
            None if clickhouse else "ClickHouse is not answering",
            None if lag_ok else f"lag {lag} is over {max_lag}",
            waiting,
            group,
        )
        if reason
    ]
    return {
        "status": "degraded" if reasons else "ok",
        "broker": broker,
        "clickhouse": clickhouse,
        "lag": lag,
        "lag_ok": lag_ok,
        "partitions": partitions,
        "reasons": reasons,
    }


class GroupWatch(Sensor):  # type: ignore[misc]
    """Watches the Faust group (alerting's leader election): counts its rebalances and tells
    when it has been rebalancing for longer than a join should take, or keeps re-joining."""

    # Re-joins within this many seconds, beyond `REJOINS_TOLERATED`, mean an unsettled group.
    REJOIN_WINDOW_SECONDS = 60.0
    REJOINS_TOLERATED = 3

    def __init__(self, group: str, join_seconds: float) -> None:
        super().__init__()
        self.group = group
        self.join_seconds = join_seconds
        self.rebalancing_since: float | None = None
        self.recent: deque[float] = deque()

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        now = time.monotonic()
        if self.rebalancing_since is None:
            self.rebalancing_since = now
        self.recent.append(now)
        telemetry.rebalanced(self.group)
        return {}

    def on_rebalance_end(self, app: Any, state: dict[str, Any]) -> None:
        self.rebalancing_since = None

    def trouble(self) -> str | None:
        now = time.monotonic()
        while self.recent and now - self.recent[0] > self.REJOIN_WINDOW_SECONDS:
            self.recent.popleft()
        since = self.rebalancing_since
        if since is not None and now - since > self.join_seconds:
            return (
                f"the Faust group {self.group} has been rebalancing for {now - since:.0f} s: "
                "alert evaluation waits (ingestion does not)"
            )
        if len(self.recent) > self.REJOINS_TOLERATED:
            return (
                f"the Faust group {self.group} re-joined {len(self.recent)} times in the last "
                f"{self.REJOIN_WINDOW_SECONDS:.0f} s: alert evaluation waits (ingestion does not)"
            )
        return None


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

    def __init__(self, settings: Settings, ingest: IngestConsumer[Any], group: GroupWatch) -> None:
        super().__init__()
        self.settings = settings
        self.ingest = ingest
        self.group = group
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._kafka: AIOKafkaClient | None = None
        self.broker_up = Probe(self._broker_answers)
        self.clickhouse_up = Probe(self._clickhouse_answers)

    async def on_start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._runner = await endpoint.serve(
            self.settings.metrics_host, self.settings.metrics_port, self._metrics, self._health
        )

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        if self._kafka is not None:
            await self._kafka.close()

    async def lag(self) -> dict[TopicPartition, int]:
        consumer = self.ingest.consumer
        lags = await consumer_lag(consumer) if consumer is not None else {}
        telemetry.lag_observed(lags)
        return lags

    async def report(self) -> dict[str, Any]:
        broker, clickhouse = await asyncio.gather(self.broker_up(), self.clickhouse_up())
        consumer = self.ingest.consumer
        partitions = len(consumer.assignment()) if consumer is not None else 0
        waited = self.ingest.watch.waiting_seconds()
        waiting = None
        if waited is not None:
            waiting = (
                f"no partition of {self.settings.topic_raw} assigned for {waited:.0f} s "
                f"(group {self.settings.ingest_group})"
            )
        return verdict(
            broker,
            clickhouse,
            sum((await self.lag()).values()),
            self.settings.health_max_lag,
            partitions,
            waiting=waiting,
            group=self.group.trouble(),
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
        # A client of its own: the ingest consumer starts only once ClickHouse answers, and
        # the broker's health is a fact of its own meanwhile.
        if self._kafka is None:
            kafka = AIOKafkaClient(
                bootstrap_servers=self.settings.kafka_bootstrap, **client_options(self.settings)
            )
            try:
                await kafka.bootstrap()
            except BaseException:
                await kafka.close()
                raise
            self._kafka = kafka
        # A metadata request: answered only while the cluster is up.
        await self._kafka.fetch_all_metadata()
        return True

    async def _clickhouse_answers(self) -> bool:
        assert self._session is not None
        url = f"{self.settings.clickhouse_url.rstrip('/')}/ping"
        async with self._session.get(url) as response:
            return response.status == 200
