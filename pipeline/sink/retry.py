"""Calls to ClickHouse retried until it answers: a server that is down or busy is waited out
with exponential backoff (for as long as it takes; the consumer stops pulling from Kafka
meanwhile), while a server that refuses the data says so at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from pipeline.clickhouse import unreachable
from pipeline.errors import SinkUnavailable, first_line
from pipeline.observe import telemetry
from pipeline.settings import Settings

log = logging.getLogger(__name__)

R = TypeVar("R")

# The first wait after a failed call; it doubles up to Settings.sink_retry_max_seconds.
FIRST_DELAY_SECONDS = 0.2


class Retrying:
    """Runs calls on one client (made, and made again after a connection failure, by
    `client_factory`) in a thread, retrying while ClickHouse is away or busy."""

    def __init__(self, client_factory: Callable[[], Client], settings: Settings) -> None:
        self._client_factory = client_factory
        self._client: Client | None = None
        self._settings = settings

    async def __call__(self, what: str, call: Callable[[Client], R]) -> R:
        """Run `call` in a thread until ClickHouse answers; server-side rejections propagate."""
        delay = FIRST_DELAY_SECONDS
        while True:
            try:
                if self._client is None:
                    self._client = await asyncio.to_thread(self._client_factory)
                return await asyncio.to_thread(call, self._client)
            except SinkUnavailable as exc:
                log.warning("%s: %s; retrying in %.1fs", what, exc, delay)
            except (OperationalError, OSError) as exc:
                self._client = None
                log.warning(
                    "%s: %s; retrying in %.1fs", what, unreachable(self._settings, exc), delay
                )
            except DatabaseError as exc:
                if not _is_transient(exc):
                    raise
                log.warning(
                    "%s: ClickHouse is busy (%s); retrying in %.1fs",
                    what,
                    first_line(exc, 200),
                    delay,
                )
            telemetry.insert_retried()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.sink_retry_max_seconds)


# Server errors that say "later", not "this data is bad": too many parts, memory, timeouts.
_TRANSIENT_CODES = (
    "Code: 252.",
    "Code: 241.",
    "Code: 159.",
    "Code: 209.",
    "Code: 210.",
    "Code: 202.",
    "Code: 203.",
    "Code: 425.",
    "Code: 439.",
    "Code: 242.",
)


def _is_transient(exc: DatabaseError) -> bool:
    text = str(exc)
    return any(code in text for code in _TRANSIENT_CODES)
