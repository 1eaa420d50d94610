"""The token bucket behind `logweir gen`: steady rate, bounded bursts, a virtual clock."""

from __future__ import annotations

import pytest

from pipeline.shipping.throttle import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_gives_its_capacity_without_waiting():
    bucket = TokenBucket(rate=10, capacity=5, clock=Clock())
    assert [bucket.take() for _ in range(5)] == [0.0] * 5


def test_taking_beyond_the_tokens_says_how_long_to_wait():
    bucket = TokenBucket(rate=10, capacity=5, clock=Clock())
    bucket.take(5)
    assert bucket.take(1) == pytest.approx(0.1)
    assert bucket.take(2) == pytest.approx(0.3)


def test_tokens_refill_at_the_rate_up_to_the_capacity():
    clock = Clock()
    bucket = TokenBucket(rate=10, capacity=5, clock=clock)
    bucket.take(5)
    clock.now += 0.2
    assert bucket.take(2) == 0.0
    clock.now += 60
    assert bucket.take(5) == 0.0
    assert bucket.take(1) > 0


def test_waiting_as_told_holds_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=50, capacity=1, clock=clock)
    start = clock.now
    for _ in range(500):
        clock.now += bucket.take()
    assert clock.now - start == pytest.approx(500 / 50, abs=0.05)


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1)
