"""The async tail: follow_batches, follow, retry through outages; design: the package docstring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from pipeline.errors import SinkUnavailable, first_line
from pipeline.query.tail.cursor import Follower
from pipeline.query.tail.filters import Filters
from pipeline.query.tail.rows import Row

POLL_SECONDS = 0.5
RETRY_SECONDS = 2.0


def _ignore(message: str | None) -> None:
    pass


async def follow_batches(
    connect: Callable[[], Client],
    filters: Filters,
    since: datetime | None = None,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_unavailable: Callable[[str | None], None] = _ignore,
) -> AsyncGenerator[list[Row], None]:
    """A list of rows per poll (history first when `since`), an empty one when nothing came:
    a stream can write a batch at once, or a heartbeat on an empty one.

    `connect` makes a client (e.g. `lambda: pipeline.clickhouse.connect(settings)`). While
    ClickHouse cannot be reached the tail keeps its cursor and retries every RETRY_SECONDS,
    calling `on_unavailable` with a one-line reason when that starts and with None when it
    answers again. Raises TailFilterError for a filter ClickHouse refuses, TailError for any
    other refused query. Cancellation-safe: the blocking calls run in a thread, and the answer of
    a cancelled one is dropped with the cursor as it was.
    """
    follower: Follower | None = None
    outage: str | None = None
    in_history = since is not None
    while True:
        try:
            if follower is None:
                follower = Follower(await asyncio.to_thread(connect), filters, since)
            if follower.cursor is None:
                await asyncio.to_thread(follower.start)
            batch = await asyncio.to_thread(follower.history) if in_history else None
            if batch is None:
                in_history = False
                batch = await asyncio.to_thread(follower.poll)
        except (SinkUnavailable, OperationalError) as exc:
            if outage is None:
                outage = _unreachable(exc)
                on_unavailable(outage)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if outage is not None:
            outage = None
            on_unavailable(None)
        yield batch
        if not in_history and follower.caught_up:
            await asyncio.sleep(poll_seconds)


async def follow(
    connect: Callable[[], Client],
    filters: Filters,
    since: datetime | None = None,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_unavailable: Callable[[str | None], None] = _ignore,
) -> AsyncIterator[Row]:
    """Every new row once, in order per partition (the arguments as for follow_batches)."""
    async for batch in follow_batches(
        connect, filters, since, poll_seconds=poll_seconds, on_unavailable=on_unavailable
    ):
        for row in batch:
            yield row


def _unreachable(exc: BaseException) -> str:
    retrying = f"retrying every {RETRY_SECONDS:g} s"
    if isinstance(exc, SinkUnavailable):  # names the server and how to start the local one
        return f"{exc}; {retrying}"
    return f"ClickHouse is not answering ({first_line(exc, 200)}); {retrying}"
