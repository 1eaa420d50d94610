"""Apache error logs: lines without httpd's header are refused (golden lines: test_detect)."""

from __future__ import annotations

import pytest

from pipeline.parsing import apache_error


@pytest.mark.parametrize(
    "line",
    [
        b"[Wed Foo 11 14:32:52 2000] [error] bad month",
        b"[Wed Oct 11 14:32:52 2000] error without brackets",
        b"[INFO] not apache",
    ],
)
def test_malformed_lines_are_refused(line):
    assert apache_error.parse(line) is None


def test_numbered_trace_levels_are_trace_and_keep_their_word():
    record = apache_error.parse(b"[Wed Oct 11 14:32:52 2000] [core:trace3] [pid 1] deep detail")
    assert record is not None
    assert (record.level, record.severity.name) == ("trace3", "TRACE")
