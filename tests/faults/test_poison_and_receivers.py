"""A poison message among good ones, and webhook receivers that fail, hang or are gone."""

from __future__ import annotations

import orjson
import pytest

from pipeline.bench.accounting import account
from pipeline.bench.producer import produce
from pipeline.bench.sample import SampleTraffic
from tests.support.stack import WorkerProcess, isolated, run, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def poison_hook(record):  # type: ignore[no-untyped-def]
    """Throws on one specific input, as a buggy user hook would."""
    if "POISON" in record.body:
        raise ValueError("cannot handle this record")
    return record


def test_a_poison_message_is_dead_lettered_and_the_rest_stored(stack, tmp_path):
    settings = isolated(stack, hooks=[f"{__name__}:poison_hook"])
    from pipeline.clickhouse import connect
    from pipeline.ops import migrations
    from pipeline.stack.broker import Broker

    Broker(settings).create_topics(settings.topics, settings.topic_partitions)
    migrations.apply(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    worker.start()
    try:
        good = list(SampleTraffic(seed=8).lines(1000))
        messages = good[:500] + [(None, b"ERROR POISON in the middle")] + good[500:]
        produced = run(produce(settings, messages))
        client = connect(settings)
        wait_for(lambda: account(client, produced).messages >= 1001, 90, "all 1001", worker)
        final = account(client, produced)
        assert (final.messages, final.stored, final.dead_lettered, final.duplicates) == (
            1001,
            1000,
            1,
            0,
        )
        ((reason, detail),) = client.query("SELECT Reason, Detail FROM logs_deadletter").result_rows
        assert reason == "hook_error" and "cannot handle this record" in detail
        assert worker.alive()
    finally:
        worker.stop()


def test_a_hanging_receiver_times_out_and_is_retried_without_stalling(stack, tmp_path):
    from tests.support.alerting import lines, start_worker
    from tests.support.receiver import Receiver

    hang = Receiver(delay=lambda path, n: 5.0 if n == 1 else 0.0)
    hang.start()
    try:
        from pipeline.settings import WebhookTarget

        settings, worker, client = start_worker(
            stack, tmp_path, hang, webhooks=[WebhookTarget(name="slow", url=hang.url("/slow"))]
        )
        try:
            run(produce(settings, lines("burst-h", 40)))
            # Timeout per attempt is 2 s: the first attempt is abandoned, the second lands.
            wait_for(
                lambda: (
                    client.query(
                        "SELECT count() FROM alert_deliveries WHERE Outcome = 'sent'"
                    ).result_rows[0][0]
                    >= 1
                ),
                30,
                "the retried delivery",
                worker,
            )
            outcomes = [
                r[0]
                for r in client.query(
                    "SELECT Outcome FROM alert_deliveries WHERE Status = 'firing' "
                    "ORDER BY AttemptTime"
                ).result_rows
            ]
            assert outcomes[:2] == ["retry", "sent"]
            error = client.query(
                "SELECT Error FROM alert_deliveries WHERE Outcome = 'retry' LIMIT 1"
            ).result_rows[0][0]
            assert "Timeout" in error
            # Ingestion kept going while the receiver hung.
            more = run(produce(settings, lines("after-hang", 50, "info")))
            wait_for(lambda: account(client, more).messages >= 50, 30, "rows after", worker)
            assert orjson.loads(hang.on("/slow")[-1].body)["rule"] == "burst-errors"
        finally:
            worker.stop()
    finally:
        hang.stop()
