"""Python logging text: the stdlib's usual formats, loguru, Flask, gunicorn, tracebacks."""

from __future__ import annotations

import pytest

from pipeline.parsing import parse, pylogging


@pytest.mark.parametrize(
    "line",
    [
        b"2024-01-02 03:04:05 INFO no milliseconds, no logger name",  # could be anything
        b"2024-01-02 03:04:05,123 | foo | bar | neither is a level",
        b"2024-02-30 03:04:05,123 - app - INFO - no such day",
        b"VERBOSE:root:not a Python level",
        b"[2024-01-02 03:04:05,123] something else",
    ],
)
def test_ambiguous_or_invalid_lines_are_refused(line):
    assert pylogging.parse(line) is None


def test_refused_timestamped_line_still_gets_time_and_level_as_text():
    record = parse(b"2024-01-02 03:04:05 INFO no milliseconds, no logger name")
    assert record.format == "text"
    assert record.timestamp_ns > 0 and record.level == "INFO"
