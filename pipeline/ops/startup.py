"""Worker start-up: wait for ClickHouse and Kafka for as long as it takes, then migrate.

Started after /health (which answers, degraded, meanwhile) and before the ingest consumer and
the Faust app: neither runs against a missing schema, and the Faust app, whose producer gives
up at once when the broker does not answer at start, starts only once it does. One log line
per retry, saying what is down and for how long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from mode import Service

from pipeline.clickhouse import connect
from pipeline.errors import SinkUnavailable, first_line
from pipeline.kafka_auth import client_options
from pipeline.ops import migrations
from pipeline.settings import Settings

log = logging.getLogger("logweir.startup")

RETRY_SECONDS = 5.0


class DependenciesReady(Service):  # type: ignore[misc]
    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    async def on_start(self) -> None:
        if not await self._until(self._clickhouse_answers, "ClickHouse"):
            return
        applied = await asyncio.to_thread(migrations.apply, self.settings)
        if applied:
            log.info("applied migrations: %s", ", ".join(m.name for m in applied))
        await self._until(self._kafka_answers, f"Kafka at {self.settings.kafka_bootstrap}")

    async def _until(self, answers: Callable[[], Awaitable[None]], what: str) -> bool:
        """Retry `answers` until it returns; False if the worker stops meanwhile."""
        started = time.monotonic()
        while not self.should_stop:
            try:
                await answers()
                return True
            except (SinkUnavailable, KafkaError, OSError) as exc:
                log.warning(
                    "%s; waited %.0f s for %s, retrying every %.0f s",
                    first_line(exc),
                    time.monotonic() - started,
                    what,
                    RETRY_SECONDS,
                )
                await self.sleep(RETRY_SECONDS)
        return False

    async def _clickhouse_answers(self) -> None:
        # Connecting runs a query: it raises SinkUnavailable while the server is away.
        client = await asyncio.to_thread(connect, self.settings, "")
        client.close()

    async def _kafka_answers(self) -> None:
        # A bare client: a consumer stopped right after its start raises CancelledError
        # (aiokafka 0.14), which would stop the worker.
        kafka = AIOKafkaClient(
            bootstrap_servers=self.settings.kafka_bootstrap, **client_options(self.settings)
        )
        try:
            await kafka.bootstrap()
        finally:
            await kafka.close()
