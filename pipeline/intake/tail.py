"""`GET /v1/tail`: rows as they are stored, as Server-Sent Events, for a browser or a script.

The same follower as `logweir tail` (pipeline/query/tail/): every new row once, in order per
Kafka partition, filtered by the same query parameters (`service`, `severity`, `contains`,
`regex`, `template`, `attribute`, `since`). Each row is one event, `data: <the row as JSON>`.
A token bound to a service reads that service only (403 if the query names another). Open
streams are capped (`intake_tail_max_streams`): each polls ClickHouse twice a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import orjson
from aiohttp import web

from pipeline.clickhouse import connect
from pipeline.intake.auth import Caller
from pipeline.intake.rejection import Rejected, bad_request
from pipeline.query.tail import TailError, TailFilterError, follow_batches, parse_query
from pipeline.settings import Settings

# An idle stream gets a comment line this often: proxies and load balancers close a response
# that sends nothing for a minute or so, and the client sees the stream is alive.
KEEPALIVE_SECONDS = 15.0


class TailStreams:
    """How many streams are open, against the cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    @contextlib.contextmanager
    def one(self):  # type: ignore[no-untyped-def]
        if self.open >= self.limit:
            raise Rejected(
                503, f"{self.open} tail streams are open, the most this intake serves", 5
            )
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1


async def respond(
    request: web.Request, settings: Settings, caller: Caller, streams: TailStreams
) -> web.StreamResponse:
    try:
        filters, since = parse_query(request.query)
    except TailFilterError as exc:
        raise bad_request(str(exc)) from None
    if caller.service:
        if filters.service and filters.service != caller.service:
            raise Rejected(
                403, f"this token reads service {caller.service!r} only, not {filters.service!r}"
            )
        filters = dataclasses.replace(filters, service=caller.service)
    with streams.one():
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        batches = follow_batches(lambda: connect(settings), filters, since)
        quiet_since = time.monotonic()
        try:
            async with contextlib.aclosing(batches):
                async for batch in batches:  # one list per poll, empty when nothing came
                    if batch:
                        await response.write(
                            b"".join(b"data: " + orjson.dumps(r.to_json()) + b"\n\n" for r in batch)
                        )
                        quiet_since = time.monotonic()
                    elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                        await response.write(b": keep-alive\n\n")
                        quiet_since = time.monotonic()
        except ConnectionResetError:
            pass  # the client went away
        except TailError as exc:  # e.g. a regex ClickHouse refuses, found once streaming
            await response.write(b"event: error\ndata: " + orjson.dumps(str(exc)) + b"\n\n")
        return response
