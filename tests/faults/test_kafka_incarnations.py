"""Kafka offsets that start again: a broker that lost its data, a topic deleted and re-created.

Every event carries a unique id and is counted by id in ClickHouse afterwards: nothing may be
lost (skipped as "already stored") and nothing doubled, with the worker running across the
event and after it restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.bench.producer import produce
from pipeline.clickhouse import connect
from pipeline.ingest.consumer import IngestConsumer, Written
from pipeline.ingest.partitions import BrokerPartitions
from pipeline.ops import migrations
from pipeline.settings import Settings
from pipeline.shipping.kafka import new_producer
from pipeline.stack.broker import Broker, create_topics, delete_topics
from tests.support.census import census, tagged
from tests.support.stack import WorkerProcess, isolated, run, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WENT_BACK = "Kafka offsets went back"


@pytest.fixture
def own_broker(stack: Settings, tmp_path: Path) -> Iterator[tuple[Settings, Broker]]:
    """A broker of this test's own (restarting the session's would disturb other tests), with
    fresh topics, database and group on the session's ClickHouse."""
    port = stack.kafka_host_port[1] + 2
    settings = isolated(stack, kafka_bootstrap=f"127.0.0.1:{port}", state_dir=tmp_path)
    broker = Broker(settings)
    broker.start()
    try:
        broker.create_topics(settings.topics, settings.topic_partitions)
        migrations.apply(settings)
        yield settings, broker
    finally:
        broker.stop()


def _restart(broker: Broker, settings: Settings) -> None:
    """The local broker keeps its log in memory: a restart loses every message and offset."""
    broker.stop()
    broker.start()
    broker.create_topics(settings.topics, settings.topic_partitions)


async def _send(settings: Settings, partition: int, value: bytes) -> int:
    """One message to one partition; returns its offset."""
    producer = new_producer(settings.kafka_bootstrap, settings.max_message_bytes, {})
    await producer.start()
    try:
        meta = await producer.send_and_wait(settings.topic_raw, value, partition=partition)
        return int(meta.offset)
    finally:
        await producer.stop()


async def _topic_exists(settings: Settings) -> bool:
    """Asked without naming the topic, so the question cannot create it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return settings.topic_raw in await admin.list_topics()
    finally:
        await admin.close()


def _all_stored(client, tag: str, count: int, worker: WorkerProcess) -> None:  # type: ignore[no-untyped-def]
    wait_for(lambda: census(client, tag).ids >= count, 120, f"{count} {tag} events", worker)


def test_broker_restart_under_a_running_worker_loses_and_doubles_nothing(own_broker):
    settings, broker = own_broker
    client = connect(settings)
    worker = WorkerProcess(settings, settings.state_dir / "worker.log")
    worker.start()
    try:
        run(produce(settings, tagged("before", 6000)))
        _all_stored(client, "before", 6000, worker)

        _restart(broker, settings)
        # Fewer messages than the stored offsets: the broker's offsets end below the marks.
        run(produce(settings, tagged("after", 3000)))
        _all_stored(client, "after", 3000, worker)
        # Past the old marks now: offsets the old incarnation also had.
        run(produce(settings, tagged("beyond", 6000)))
        _all_stored(client, "beyond", 6000, worker)

        worker.kill()  # a fresh worker must not take the new offsets for the old ones either
        worker.start()
        run(produce(settings, tagged("restarted", 1000)))
        _all_stored(client, "restarted", 1000, worker)
    finally:
        worker.stop()

    for tag, count in (("before", 6000), ("after", 3000), ("beyond", 6000), ("restarted", 1000)):
        found = census(client, tag)
        assert (found.ids, found.duplicates, found.doubled_coordinates) == (count, 0, 0), tag
    incarnations = dict(
        client.query("SELECT KafkaIncarnation, count() FROM otel_logs GROUP BY 1").result_rows
    )
    assert incarnations == {0: 6000, 1: 10000}
    assert WENT_BACK in worker.log_path.read_text()


def test_another_record_at_a_stored_offset_after_a_restart_is_stored(own_broker):
    """One message at partition 3 offset 0; broker restarted; another one at the same offset.
    The second must not be taken for the first (by the stored marks or by the insert token)."""
    settings, broker = own_broker
    client = connect(settings)
    worker = WorkerProcess(settings, settings.state_dir / "worker.log")
    worker.start()
    try:
        for tag in ("first", "second"):
            [(_, value)] = tagged(tag, 1)
            assert run(_send(settings, 3, value)) == 0
            _all_stored(client, tag, 1, worker)
            if tag == "first":
                _restart(broker, settings)
    finally:
        worker.stop()
    rows = client.query(
        "SELECT Body, KafkaPartition, KafkaOffset, KafkaIncarnation FROM otel_logs ORDER BY Body"
    ).result_rows
    assert [(body, offset, n) for body, _, offset, n in rows] == [
        ("first-0", 0, 0),
        ("second-0", 0, 1),
    ]


def test_a_topic_deleted_and_recreated_is_read_from_its_beginning(pipeline_settings, worker):
    """On the session's broker. The worker sees the topic go (its assignment empties at the
    next metadata refresh) before the test creates it again, as on Apache Kafka, where deletion
    takes effect asynchronously and removes the group's committed offsets. The topic may also
    come back first, created by any client's metadata request that names it (Tansu, like Apache
    Kafka with `auto.create.topics.enable`, creates it); the worker's own stored-offset check did
    so once in CI, which the next test guards against. Both are offsets starting again at 0."""
    settings = pipeline_settings
    client = connect(settings)
    run(produce(settings, tagged("old", 6000)))
    _all_stored(client, "old", 6000, worker)

    asyncio.run(delete_topics(settings.kafka_bootstrap, [settings.topic_raw]))
    wait_for(
        lambda: (
            "ingest partitions assigned: none" in worker.log_path.read_text()
            or run(_topic_exists(settings))
        ),
        60,
        "the worker to see the topic go, or the topic to come back",
        worker,
    )
    asyncio.run(
        create_topics(settings.kafka_bootstrap, [settings.topic_raw], settings.topic_partitions)
    )
    run(produce(settings, tagged("new", 8000)))
    _all_stored(client, "new", 8000, worker)

    for tag, count in (("old", 6000), ("new", 8000)):
        found = census(client, tag)
        assert (found.ids, found.duplicates, found.doubled_coordinates) == (count, 0, 0), tag
    assert WENT_BACK in worker.log_path.read_text()


def test_checking_a_stored_offset_leaves_a_deleted_topic_deleted(pipeline_settings):
    """The sink reads the record at a stored offset to tell incarnations apart. The consumer it
    reads with must not hold on to the partition: its metadata requests would name the topic,
    and the broker would create the topic again after its owner deleted it."""
    settings = pipeline_settings
    offset = run(_send(settings, 2, b"witness"))
    partitions = BrokerPartitions(
        lambda: None, lambda: {"bootstrap_servers": settings.kafka_bootstrap}
    )

    async def scenario() -> tuple[int | None, bool]:
        try:
            timestamp = await partitions.timestamp_at(settings.topic_raw, 2, offset)
            await delete_topics(settings.kafka_bootstrap, [settings.topic_raw])
            # The reading consumer's next metadata refresh, forced here rather than awaited
            # (five minutes by default), is the request that would create the topic again.
            assert partitions._probe is not None
            await partitions._probe._client.force_metadata_update()
            await asyncio.sleep(1)
            return timestamp, await _topic_exists(settings)
        finally:
            await partitions.close()

    timestamp, exists = run(scenario())
    assert timestamp is not None
    assert not exists


def test_a_commit_for_a_deleted_topic_is_given_up_and_the_partitions_let_go(pipeline_settings):
    """The topic is deleted while a batch from it is being written. The commit that follows
    can never succeed (aiokafka would retry it until the topic came back), and the revoke
    waits for the write: the consumer must give the commit up, so that its assignment empties
    and it can stop."""
    settings = pipeline_settings
    run(_send(settings, 1, b"one message"))
    assignments: list[frozenset[tuple[str, int]]] = []

    async def delete_while_writing(batch: list, _: object) -> Written:  # type: ignore[type-arg]
        await delete_topics(settings.kafka_bootstrap, [settings.topic_raw])
        return Written()

    async def scenario() -> None:
        consumer: IngestConsumer[list] = IngestConsumer(  # type: ignore[type-arg]
            settings, list, delete_while_writing, assignments.append
        )
        await consumer.start()
        try:
            for _ in range(300):
                if assignments and not assignments[-1] and not consumer.batch_lock.locked():
                    break
                await asyncio.sleep(0.1)
        finally:
            await asyncio.wait_for(consumer.stop(), 30)

    run(scenario())
    partitions = range(settings.topic_partitions)
    assert assignments[0] == frozenset((settings.topic_raw, p) for p in partitions)
    assert assignments[-1] == frozenset()
    assert not run(_topic_exists(settings))
