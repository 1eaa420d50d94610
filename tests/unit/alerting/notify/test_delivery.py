"""A delivery's retry schedule and how a failed attempt is described."""

from __future__ import annotations

from pipeline.alerting.notify.delivery import failure, retry_delay


def test_retry_delay_doubles_up_to_the_cap_with_half_of_it_jittered():
    assert retry_delay(1, 0.5, 300, rand=lambda: 0.0) == 0.25
    assert retry_delay(1, 0.5, 300, rand=lambda: 1.0) == 0.5
    assert retry_delay(4, 0.5, 300, rand=lambda: 1.0) == 4.0
    assert [retry_delay(f, 0.5, 300, rand=lambda: 1.0) for f in (10, 11, 50_000)] == [256, 300, 300]
    assert all(150 <= retry_delay(30, 0.5, 300) <= 300 for _ in range(100))


def test_a_failure_is_its_type_and_first_line_or_the_type_alone():
    assert failure(ConnectionRefusedError(111, "Connect call failed")) == (
        "ConnectionRefusedError: [Errno 111] Connect call failed"
    )
    assert failure(TimeoutError()) == "TimeoutError"
    assert failure(ValueError("bad\nsecond line")) == "ValueError: bad"
