"""The worker's /health verdict and the consumer lag it reports."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from pipeline.observe.health import GroupWatch, Probe, partition_lag, verdict

A, B, C = (TopicPartition("logs.raw", p) for p in range(3))


def test_lag_is_high_watermark_minus_position():
    assert partition_lag({A: 120, B: 50}, {A: 100, B: 50}) == {A: 20, B: 0}


def test_partition_not_fetched_yet_has_no_lag_rather_than_zero():
    assert partition_lag({A: None, B: 7}, {B: 3}) == {B: 4}


def test_position_past_a_stale_watermark_is_not_negative():
    assert partition_lag({C: 10}, {C: 12}) == {C: 0}


def test_verdict_is_ok_only_when_everything_is():
    assert verdict(True, True, 10, 100, 4)["status"] == "ok"
    assert verdict(False, True, 0, 100, 4)["status"] == "degraded"
    assert verdict(True, False, 0, 100, 4)["status"] == "degraded"
    over = verdict(True, True, 101, 100, 4)
    assert (over["status"], over["lag_ok"], over["lag"]) == ("degraded", False, 101)


def test_probe_caches_its_answer_and_treats_a_failure_as_no():
    calls = []

    async def flaky() -> bool:
        calls.append(1)
        raise ConnectionError("down")

    probe = Probe(flaky)

    async def twice() -> tuple[bool, bool]:
        return await probe(), await probe()

    assert asyncio.run(twice()) == (False, False)
    assert len(calls) == 1


def test_verdict_says_why_in_words():
    waiting = "no partition of logs.raw assigned for 31 s (group logweir.ingest)"
    report = verdict(True, True, 0, 100, 0, waiting=waiting)
    assert (report["status"], report["reasons"]) == ("degraded", [waiting])
    report = verdict(False, True, 200, 100, 4)
    assert report["reasons"] == ["Kafka is not answering", "lag 200 is over 100"]
    assert verdict(True, True, 0, 100, 4)["reasons"] == []


def test_group_watch_tells_a_long_rebalance_and_a_group_that_keeps_rejoining(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("pipeline.observe.health.time.monotonic", lambda: clock[0])
    watch = GroupWatch("logweir", join_seconds=20)
    watch.on_rebalance_start(None)
    clock[0] += 5
    assert watch.trouble() is None  # a join takes a few seconds
    clock[0] += 20
    assert "rebalancing for 25 s" in (watch.trouble() or "")
    watch.on_rebalance_end(None, {})
    assert watch.trouble() is None
    for _ in range(GroupWatch.REJOINS_TOLERATED):  # four re-joins within a minute
        clock[0] += 5
        watch.on_rebalance_start(None)
        watch.on_rebalance_end(None, {})
    assert "re-joined 4 times" in (watch.trouble() or "")
    clock[0] += GroupWatch.REJOIN_WINDOW_SECONDS
    assert watch.trouble() is None
