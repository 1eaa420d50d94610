"""Consumer-group membership under the operations every deployment sees: workers killed,
restarted, added and stopped while events stream in. Every event carries a unique id and is
counted by id in ClickHouse: nothing lost, nothing doubled; every new worker ingests within a
bounded time, whatever happened to the group before it.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from pipeline.clickhouse import connect
from pipeline.settings import Settings
from pipeline.shipping.kafka import new_producer
from tests.support.census import census, send_each, tagged
from tests.support.stack import WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A new worker owns partitions within this long of its start: the dead members' session
# (6 s) expires, the group re-joins (about half a session), with room for a loaded host.
JOIN_BOUND_SECONDS = 45.0
_ASSIGNED = re.compile(r"ingest partitions assigned: (?!none)")


class Workers:
    """Worker processes of one app, each with its own log, started and stopped by name."""

    def __init__(self, settings: Settings, **overrides: object) -> None:
        # /metrics off: several workers on one host would share one port.
        self.settings = settings.model_copy(update={"metrics_port": 0, **overrides})
        self.directory = settings.state_dir / "runs" / settings.app_id
        self.live: dict[str, WorkerProcess] = {}
        self.started_at: dict[str, float] = {}

    def start(self, name: str) -> WorkerProcess:
        worker = WorkerProcess(self.settings, self.directory / f"{name}.log")
        worker.start()
        self.live[name] = worker
        self.started_at[name] = time.monotonic()
        return worker

    def kill(self, name: str) -> None:
        self.live.pop(name).kill()

    def stop(self, name: str) -> None:
        self.live.pop(name).stop()

    def stop_all(self) -> None:
        for name in list(self.live):
            self.stop(name)

    def owns_partitions(self, name: str) -> bool:
        log = self.live[name].log_path
        return log.exists() and _ASSIGNED.search(log.read_text(errors="replace")) is not None


class SteadyStream:
    """Tagged events at a steady rate from a thread of its own, until stopped."""

    def __init__(self, settings: Settings, tag: str, per_second: int) -> None:
        self.settings, self.tag, self.per_second = settings, tag, per_second
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> SteadyStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    async def _run(self) -> None:
        s = self.settings
        producer = new_producer(s.kafka_bootstrap, s.max_message_bytes, {}, linger_ms=5)
        await producer.start()
        try:
            chunk = max(1, self.per_second // 10)
            while not self._stop.is_set():
                started = time.monotonic()
                sends = [
                    await producer.send(s.topic_raw, value)
                    for _, value in tagged(self.tag, chunk, start=self.sent)
                ]
                await asyncio.gather(*sends)
                self.sent += chunk
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
        finally:
            await producer.stop()


def _all_once(client, tag: str, count: int, workers: Workers) -> None:  # type: ignore[no-untyped-def]
    def done() -> bool:
        return census(client, tag).ids >= count

    try:
        wait_for(done, 180, f"{count} {tag} events")
    except AssertionError:
        tails = "\n".join(f"--- {n}\n{w.log_tail(15)}" for n, w in workers.live.items())
        raise AssertionError(f"{census(client, tag)} of {count}\n{tails}") from None
    found = census(client, tag)
    assert (found.ids, found.duplicates, found.doubled_coordinates) == (count, 0, 0)


def test_rebalances_neither_lose_nor_double_events(pipeline_settings: Settings):
    """Kill, restart, scale up, stop gracefully: each a rebalance under a steady stream."""
    client = connect(pipeline_settings)
    # Batches that linger longer than a rebalance takes: an assignment change lands while a
    # batch is being assembled, the case where kept partitions' records came twice.
    workers = Workers(pipeline_settings, sink_linger_seconds=2.0)
    workers.start("a")
    workers.start("b")
    schedule = [
        (5, lambda: workers.kill("a")),  # SIGKILL mid-stream: no final commit
        (9, lambda: workers.start("a2")),
        (13, lambda: workers.start("c")),  # scale up to three
        (18, lambda: workers.stop("b")),  # SIGTERM: a clean leave
        (22, lambda: workers.kill("c")),
        (26, lambda: workers.start("d")),
        (29, lambda: workers.kill("a2")),
        (32, lambda: workers.start("e")),
    ]
    try:
        with SteadyStream(pipeline_settings, "steady", per_second=1500) as stream:
            began = time.monotonic()
            for at, action in schedule:
                time.sleep(max(0.0, at - (time.monotonic() - began)))
                action()
            time.sleep(max(0.0, 36 - (time.monotonic() - began)))
        _all_once(client, "steady", stream.sent, workers)
    finally:
        workers.stop_all()
    assert stream.sent >= 30_000


def test_new_workers_ingest_after_every_member_was_killed(pipeline_settings: Settings):
    """Members of both groups (Faust's and the ingest consumer's) SIGKILLed, new workers
    started, again and again in one broker's lifetime: each new worker owns partitions within
    JOIN_BOUND_SECONDS and every event is stored once."""
    client = connect(pipeline_settings)
    workers = Workers(pipeline_settings)
    generation = ["a", "b"]
    for name in generation:
        workers.start(name)
    sent = 0
    try:
        for cycle in range(4):
            for name in generation:
                workers.kill(name)
            generation = [f"{name}{cycle}" for name in ("a", "b")]
            for name in generation:
                workers.start(name)
            asyncio.run(send_each(pipeline_settings, tagged("cycle", 1000, start=sent)))
            sent += 1000
            for name in generation:
                wait_for(
                    lambda name=name: workers.owns_partitions(name),
                    JOIN_BOUND_SECONDS - (time.monotonic() - workers.started_at[name]),
                    f"worker {name} to own partitions",
                    workers.live[name],
                )
            _all_once(client, "cycle", sent, workers)
    finally:
        workers.stop_all()
