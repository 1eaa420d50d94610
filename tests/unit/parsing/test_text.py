"""Plain text fallback: leading time, upper-case level words, stack traces without a format."""

from __future__ import annotations

import pytest

from pipeline.parsing import text
from tests.unit.parsing import golden


@pytest.mark.parametrize("case", golden.cases("text"))
def test_golden(case):
    golden.check(text.parse(golden.line(case)), case, "text")


def test_level_is_only_looked_for_near_the_start():
    record = text.parse(b"x" * 300 + b" ERROR")
    assert record.level == ""
