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
from pipeline.observe.scrape import scrape, worker_url
from pipeline.ops import migrations
from pipeline.settings import Settings
from pipeline.shipping.kafka import new_producer
from pipeline.stack.broker import Broker
from pipeline.stack.process import free_port
from tests.support.census import census, send_each, tagged
from tests.support.stack import WorkerProcess, isolated, wait_for
from tests.support.stalled_member import StalledMember, join_once

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


def _all_once(client, tag: str, count: int, workers: dict[str, WorkerProcess]) -> None:  # type: ignore[no-untyped-def]
    def done() -> bool:
        return census(client, tag).ids >= count

    try:
        wait_for(done, 180, f"{count} {tag} events")
    except AssertionError:
        tails = "\n".join(f"--- {n}\n{w.log_tail(15)}" for n, w in workers.items())
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
        _all_once(client, "steady", stream.sent, workers.live)
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
            _all_once(client, "cycle", sent, workers.live)
    finally:
        workers.stop_all()


def test_a_leader_stopping_as_its_group_forms_leaves_no_stall(pipeline_settings: Settings):
    """The worker leading the ingest group stops cleanly just as a new member joins: the group
    is forming and the leader has not re-joined yet. On Tansu 0.6.0 a LeaveGroup from the
    leader at that moment left the group waiting for the departed leader for good
    (pipeline/group_leave.py); now the other worker owns every partition within a bound and
    every event is stored once."""
    # The leader learns of a rebalance at its next heartbeat: a slow heartbeat holds open the
    # window in which it does not know yet (one heartbeat interval).
    slow = Workers(
        pipeline_settings, kafka_heartbeat_seconds=5.0, kafka_session_timeout_seconds=15.0
    )
    workers = Workers(pipeline_settings)
    try:
        slow.start("leader")  # the group's first member leads it
        wait_for(lambda: slow.owns_partitions("leader"), JOIN_BOUND_SECONDS, "the leader")
        workers.start("other")
        wait_for(lambda: workers.owns_partitions("other"), JOIN_BOUND_SECONDS, "the other")
        join_once(
            pipeline_settings.kafka_bootstrap,
            pipeline_settings.ingest_group,
            pipeline_settings.topic_raw,
            pipeline_settings.kafka_session_timeout_seconds,
        )
        stopped_at = time.monotonic()
        slow.stop("leader")
        asyncio.run(send_each(pipeline_settings, tagged("after", 400)))
        client = connect(pipeline_settings)
        # The departed leader's session (15 s) expires, then a join: well within the bound.
        wait_for(
            lambda: census(client, "after").ids >= 400,
            JOIN_BOUND_SECONDS + 15 - (time.monotonic() - stopped_at),
            "the other worker to own every partition",
            workers.live["other"],
        )
        _all_once(client, "after", 400, workers.live)
    finally:
        slow.stop_all()
        workers.stop_all()


_WAITING = "still waiting for partitions of"


def _watched(settings: Settings) -> Settings:
    """`settings` reporting a missing assignment after 2 s, with /health on a port of its own."""
    return settings.model_copy(update={"ingest_join_seconds": 2.0, "metrics_port": free_port()})


def _stall(settings: Settings, group: str, topic: str, **assignor: str) -> StalledMember:
    """A member of `group` that leads it and stalls mid-rebalance, started (`assignor=` as
    StalledMember takes it)."""
    return StalledMember(
        settings.kafka_bootstrap, group, topic, settings.kafka_session_timeout_seconds, **assignor
    ).start()


def _start_worker(settings: Settings) -> WorkerProcess:
    worker = WorkerProcess(settings, settings.state_dir / "runs" / settings.app_id / "w.log")
    worker.start()
    return worker


def _health_reasons(settings: Settings) -> list[str]:
    health = scrape(worker_url(settings))[1]
    assert health is not None, "no /health document"
    return list(health["reasons"])


def _says_it_waits(worker: WorkerProcess, settings: Settings) -> None:
    """The waiting line, once, and /health degraded with the reason."""
    wait_for(lambda: _WAITING in worker.log_text(), 90, "the waiting line", worker)
    reasons = _health_reasons(settings)
    assert any(f"no partition of {settings.topic_raw} assigned" in r for r in reasons), reasons
    time.sleep(3)  # three more turns of the check: the line stays said once
    assert worker.log_text().count(_WAITING) == 1, worker.log_tail()


def _ingests_and_settles(worker: WorkerProcess, settings: Settings, tag: str) -> None:
    asyncio.run(send_each(settings, tagged(tag, 300)))
    _all_once(connect(settings), tag, 300, {"w": worker})
    wait_for(
        lambda: not any("no partition" in r for r in _health_reasons(settings)),
        30,
        "/health to drop the waiting reason",
        worker,
    )


def test_a_worker_without_partitions_says_so_and_ingests_once_they_come(stack: Settings):
    """Started before its raw topic exists, the worker can own no partition: its log says so
    once, plainly, and /health is degraded with the reason. Once the topic is created, the
    worker picks it up and every event is stored once."""
    settings = _watched(isolated(stack))
    broker = Broker(settings)
    broker.create_topics(
        [t for t in settings.topics if t != settings.topic_raw], settings.topic_partitions
    )
    migrations.apply(settings)
    worker = _start_worker(settings)
    try:
        _says_it_waits(worker, settings)
        broker.create_topics([settings.topic_raw], settings.topic_partitions)
        _ingests_and_settles(worker, settings, "late")
    finally:
        worker.stop()


def test_a_group_held_by_a_stalled_member_is_reported_then_recovers(pipeline_settings: Settings):
    """The ingest group's leader joined and then stalled mid-rebalance (it heartbeats but never
    assigns): the worker's join cannot finish, and aiokafka's fetch waits for it. The worker
    says so anyway, and once the stalled member is gone (no more heartbeats), the group forms
    again and the worker ingests every event once."""
    settings = _watched(pipeline_settings)
    stalled = _stall(settings, settings.ingest_group, settings.topic_raw)
    worker = _start_worker(settings)
    try:
        try:
            _says_it_waits(worker, settings)
        finally:
            stalled.stop()
        _ingests_and_settles(worker, settings, "held")
    finally:
        worker.stop()


def test_a_stalled_faust_group_holds_neither_ingestion_nor_silence(pipeline_settings: Settings):
    """The Faust group (alerting's leader election) held by a member that stalled
    mid-rebalance: the ingest consumer, in a group of its own, stores every event meanwhile,
    /health names the Faust group, and both groups' rebalances are counted."""
    settings = _watched(pipeline_settings)
    stalled = _stall(settings, settings.app_id, settings.topic_alerts, assignor="faust")
    worker = _start_worker(settings)
    faust_reason = f"the Faust group {settings.app_id}"
    # Longer than a join takes here (half the session timeout, with room): held, not joining.
    held = re.compile(rf"{re.escape(faust_reason)} has been rebalancing for (\d+) s")

    def held_seconds() -> int:
        found = [held.search(r) for r in _health_reasons(settings)]
        return max((int(m.group(1)) for m in found if m), default=0)

    try:
        try:
            asyncio.run(send_each(settings, tagged("meanwhile", 300)))
            _all_once(connect(settings), "meanwhile", 300, {"w": worker})
            wait_for(lambda: held_seconds() >= 15, 60, "/health to name the held group", worker)
        finally:
            stalled.stop()
        wait_for(
            lambda: not any(faust_reason in r for r in _health_reasons(settings)),
            90,
            "the Faust group to settle once the stalled member is gone",
            worker,
        )
        counted = scrape(worker_url(settings))[0].by("logweir_rebalances_total", "group")
        assert counted.get(settings.ingest_group, 0) >= 1, counted
        assert counted.get(settings.app_id, 0) >= 1, counted
    finally:
        worker.stop()
