"""The worker's /health verdict and the consumer lag it reports."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from pipeline.observe.health import Probe, partition_lag, verdict

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
