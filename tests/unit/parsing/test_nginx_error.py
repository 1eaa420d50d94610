"""Nginx error logs: lines without nginx's header are refused (golden lines: test_detect)."""

from __future__ import annotations

import pytest

from pipeline.parsing import nginx_error


@pytest.mark.parametrize(
    "line",
    [
        b"2024/13/02 03:04:05 [error] 1#1: month 13",
        b"2024/01/02 03:04:05 error 1#1: no brackets",
        b"2024/01/02 03:04:05 [error] worker: no pid",
    ],
)
def test_malformed_lines_are_refused(line):
    assert nginx_error.parse(line) is None
