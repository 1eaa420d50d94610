"""Plain text fallback: leading time, upper-case level words, stack traces without a format."""

from __future__ import annotations

from pipeline.parsing import text


def test_level_is_only_looked_for_near_the_start():
    record = text.parse(b"x" * 300 + b" ERROR")
    assert record.level == ""
