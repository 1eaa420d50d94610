"""Apache error logs: trace levels (golden and refused lines: apache_error.toml, test_detect)."""

from __future__ import annotations

from pipeline.parsing import apache_error


def test_numbered_trace_levels_are_trace_and_keep_their_word():
    record = apache_error.parse(b"[Wed Oct 11 14:32:52 2000] [core:trace3] [pid 1] deep detail")
    assert record is not None
    assert (record.level, record.severity.name) == ("trace3", "TRACE")
