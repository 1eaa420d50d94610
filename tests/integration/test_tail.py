"""`logweir tail` and the follower under it, against the real broker, worker and ClickHouse:
what was produced against what was shown, every row once, in order per partition."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pipeline.bench.producer import produce
from pipeline.clickhouse import connect
from pipeline.query.tail import (
    Filters,
    Follower,
    Row,
    TailError,
    TailFilterError,
    follow_batches,
    parse_query,
)
from pipeline.settings import Settings
from tests.support.census import census, tagged
from tests.support.stack import wait_for

pytestmark = pytest.mark.integration

DEADLINE = 300  # seconds: two loaded cores; no test waits this long when things work


def _late(tag: str, count: int, days_ago: int, level: str = "error") -> list[tuple[None, bytes]]:
    """Events stamped `days_ago` in the past: another day partition, so the batch that holds
    them is stored as several parts."""
    when = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        (None, orjson.dumps({"ts": when, "level": level, "msg": f"{tag}-late-{n}"}))
        for n in range(count)
    ]


def _check_once_in_partition_order(shown: list[Row | dict], expected: set[str]) -> None:
    """Every expected row once; each partition's rows of one day in offset order (a batch's
    parts of two days become visible one after the other: see pipeline/query/tail/)."""
    bodies = Counter(r.body if isinstance(r, Row) else r["Body"] for r in shown)
    assert {b for b, n in bodies.items() if n > 1} == set(), "rows shown twice"
    assert expected - set(bodies) == set(), f"{len(expected - set(bodies))} rows never shown"
    assert set(bodies) - expected == set(), "rows shown that the filter excludes"
    last: dict[tuple, tuple[tuple[int, int], str]] = {}
    for r in shown:
        d = r.to_json() if isinstance(r, Row) else r
        key = (d["KafkaTopic"], d["KafkaPartition"], d["KafkaIncarnation"], d["Timestamp"][:10])
        coordinate = (d["KafkaOffset"], d["KafkaEventIndex"])
        before, body = last.get(key, ((-1, -1), ""))
        assert coordinate > before, (
            f"partition {key}: {d['Body']} {coordinate} after {body} {before}"
        )
        last[key] = (coordinate, d["Body"])


def test_follow_shows_every_new_row_once_in_order_per_partition(
    pipeline_settings: Settings, clickhouse, worker
):
    tag = f"tail-{uuid.uuid4().hex[:8]}"
    waves = [
        tagged(f"{tag}-w{w}", 1500) + _late(f"{tag}-w{w}", 40, days_ago=w + 1) for w in range(4)
    ]
    expected = {orjson.loads(v)["msg"] for wave in waves for _, v in wave}
    shown: list[Row] = []

    async def scenario() -> None:
        started = asyncio.Event()

        async def collect() -> None:
            async for batch in follow_batches(
                lambda: connect(pipeline_settings), Filters(contains=tag), poll_seconds=0.2
            ):
                started.set()
                shown.extend(batch)

        task = asyncio.create_task(collect())
        await asyncio.wait_for(started.wait(), DEADLINE)
        for wave in waves:  # several inserts per partition while the tail polls
            await produce(pipeline_settings, wave, spread=True)
        deadline = time.monotonic() + DEADLINE
        while len({r.body for r in shown} & expected) < len(expected):
            assert time.monotonic() < deadline, f"shown {len(shown)} of {len(expected)}"
            assert not task.done(), task.exception()
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # a few more polls: anything shown twice would show up now
        task.cancel()

    asyncio.run(scenario())
    _check_once_in_partition_order(shown, expected)
    assert len({r.partition for r in shown}) == pipeline_settings.topic_partitions
    stored = census(clickhouse, tag)
    assert (stored.ids, stored.rows) == (len(expected), len(expected))


def test_logweir_tail_shows_history_then_new_rows_with_a_filter(
    pipeline_settings: Settings, clickhouse, worker
):
    tag = f"cli-{uuid.uuid4().hex[:8]}"
    start = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    errors = [
        (None, orjson.dumps({"level": "error", "msg": f"{tag}-error-{n}"})) for n in range(600)
    ]
    noise = tagged(tag, 600) + tagged(f"other-{tag}", 300)  # info level, or another text
    before, after = errors[:300] + noise[:450], errors[300:] + noise[450:]
    expected = {orjson.loads(v)["msg"] for _, v in errors}

    asyncio.run(produce(pipeline_settings, before, spread=True))
    # Stored before the tail starts: shown by --since, from history, not live.
    wait_for(lambda: census(clickhouse, tag).ids >= 750, DEADLINE, "the rows before", worker)
    args = ["--contains", tag, "--severity", "error", "--since", start, "--format", "json"]
    tail = _start_tail(pipeline_settings, *args)
    lines: list[dict] = []
    reader = threading.Thread(
        target=lambda: lines.extend(orjson.loads(line) for line in tail.stdout or ()), daemon=True
    )
    reader.start()
    try:
        # Rows stored before the tail started come from --since, the rest live.
        asyncio.run(produce(pipeline_settings, after, spread=True))
        deadline = time.monotonic() + DEADLINE
        while len({d["Body"] for d in lines}) < len(expected):
            assert tail.poll() is None, tail.stderr.read() if tail.stderr else ""
            assert time.monotonic() < deadline, (
                f"shown {len(lines)} of {len(expected)}; stored: {census(clickhouse, tag)}"
            )
            time.sleep(0.5)
        time.sleep(2)
    finally:
        code, stderr = _interrupt(tail)
        reader.join(timeout=30)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert {d["SeverityText"] for d in lines} == {"ERROR"}
    _check_once_in_partition_order(lines, expected)


def test_rows_of_an_insert_not_yet_in_ingest_progress_at_the_start_are_shown_live(
    pipeline_settings: Settings, clickhouse
):
    """ClickHouse may make an insert's otel_logs part visible before the ingest_progress row
    its materialized view writes: a tail starting in that instant showed neither. The view
    detached holds that instant open."""
    tag, now = f"flight-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    columns = ["Timestamp", "SeverityText", "Body", "KafkaTopic", "KafkaPartition", "KafkaOffset"]

    def insert(offsets: range) -> None:
        rows = [[now, "ERROR", f"{tag}-{o}", pipeline_settings.topic_raw, 0, o] for o in offsets]
        clickhouse.insert("otel_logs", rows, column_names=columns)

    insert(range(3))
    clickhouse.command("DETACH TABLE ingest_progress_otel_logs")
    try:
        insert(range(3, 5))  # in otel_logs, not in ingest_progress
        follower = Follower(
            connect(pipeline_settings), Filters(contains=tag), since=now - timedelta(minutes=1)
        )
        follower.start()
    finally:
        clickhouse.command("ATTACH TABLE ingest_progress_otel_logs")
    insert(range(5, 6))
    history: list[str] = []
    while (batch := follower.history()) is not None:
        history += [r.body for r in batch]
    assert history == [f"{tag}-{o}" for o in range(3)]
    assert [r.body for r in follower.poll()] == [f"{tag}-{o}" for o in range(3, 6)]
    assert follower.poll() == []


def test_logweir_tail_says_in_one_line_that_clickhouse_is_unreachable_and_keeps_trying():
    tail = _start_tail(Settings(clickhouse_url="http://127.0.0.1:1"))
    try:
        first = tail.stderr.readline() if tail.stderr else ""
        assert first.startswith("error: ClickHouse at http://127.0.0.1:1 is not answering"), first
        assert tail.poll() is None, "tail gave up instead of retrying"
    finally:
        code, stderr = _interrupt(tail)
    assert code == 0, stderr


def test_logweir_tail_ends_on_ctrl_c_even_when_started_with_sigint_ignored():
    """A shell script's background job starts with SIGINT ignored, and asyncio.run then
    leaves SIGINT alone: the tail must still end on it (and on SIGTERM)."""
    settings = Settings(clickhouse_url="http://127.0.0.1:1")
    for sig in (signal.SIGINT, signal.SIGTERM):
        tail = _start_tail(
            settings, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
        )
        first = tail.stderr.readline() if tail.stderr else ""  # following (and retrying)
        assert "is not answering" in first, first
        if sig == signal.SIGINT:
            code, stderr = _interrupt(tail)
        else:
            tail.send_signal(sig)
            code, stderr = tail.wait(timeout=60), ""
        assert code == 0, (sig, stderr)


def _start_tail(settings: Settings, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """`logweir tail ARGS` on these settings, its output read as text, with faulthandler on
    (see _interrupt)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "tail", *args],
        env={**os.environ, **settings.to_env(), "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _interrupt(tail: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C, as a user ends a tail: its exit code and what it wrote to stderr. A tail that
    does not end within a minute is aborted so that faulthandler (PYTHONFAULTHANDLER, set
    where it starts) prints where each thread was: that showed a tail started with SIGINT
    ignored (a suite run from a script in the background) waiting in its event loop."""
    tail.send_signal(signal.SIGINT)
    try:
        code = tail.wait(timeout=60)
    except subprocess.TimeoutExpired:
        tail.send_signal(signal.SIGABRT)
        tail.wait(timeout=30)
        stderr = tail.stderr.read() if tail.stderr else ""
        raise AssertionError(
            f"the tail did not end on Ctrl-C within 60 s; stderr:\n{stderr}"
        ) from None
    return code, tail.stderr.read() if tail.stderr else ""


def _sse_handler(settings: Settings):  # type: ignore[no-untyped-def]
    """The wiring of `GET /v1/tail` an aiohttp app needs (the intake adds its auth)."""

    async def tail(request: web.Request) -> web.StreamResponse:
        try:
            filters, since = parse_query(request.query)
        except TailFilterError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        batches = follow_batches(lambda: connect(settings), filters, since)
        try:
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    if batch:
                        await response.write(
                            b"".join(b"data: " + orjson.dumps(r.to_json()) + b"\n\n" for r in batch)
                        )
        except ConnectionResetError:
            pass  # the client went away
        except TailError as exc:
            await response.write(b"event: error\ndata: " + orjson.dumps(str(exc)) + b"\n\n")
        return response

    return tail


async def test_an_aiohttp_handler_streams_the_tail_as_server_sent_events(
    pipeline_settings: Settings, clickhouse, worker
):
    tag = f"sse-{uuid.uuid4().hex[:8]}"
    events = tagged(tag, 1000)
    expected = {orjson.loads(v)["msg"] for _, v in events}
    app = web.Application()
    app.router.add_get("/v1/tail", _sse_handler(pipeline_settings))
    async with TestClient(TestServer(app)) as http:
        refused = await http.get("/v1/tail", params={"severity": "loud"})
        assert refused.status == 400
        assert "TRACE, DEBUG, INFO" in (await refused.json())["error"]

        stream = await http.get("/v1/tail", params={"contains": tag, "since": "1m"})
        assert stream.headers["Content-Type"] == "text/event-stream"
        await produce(pipeline_settings, events, spread=True)
        shown: list[dict] = []
        deadline = time.monotonic() + DEADLINE
        while len(shown) < len(expected):
            line = await asyncio.wait_for(stream.content.readline(), deadline - time.monotonic())
            if line.startswith(b"data: "):
                shown.append(orjson.loads(line[len(b"data: ") :]))
        stream.close()  # the handler sees the client go and closes the follower
    _check_once_in_partition_order(shown, expected)
