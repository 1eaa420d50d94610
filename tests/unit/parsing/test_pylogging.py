"""Python logging text: the stdlib's usual formats, loguru, Flask, gunicorn, tracebacks."""

from __future__ import annotations

from pipeline.parsing import parse


def test_refused_timestamped_line_still_gets_time_and_level_as_text():
    record = parse(b"2024-01-02 03:04:05 INFO no milliseconds, no logger name")
    assert record.format == "text"
    assert record.timestamp_ns > 0 and record.level == "INFO"
