"""Syslog RFC 5424 and 3164: PRI, header fields, structured data, the missing year."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.parsing import syslog, timestamps


def _epoch(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("month", "day", "now", "year"),
    [
        (12, 31, (2025, 1, 1, 0, 5), 2024),  # a December line read in January: last year
        (1, 1, (2024, 12, 31, 23, 59), 2025),  # sender's clock ahead over new year
        (6, 15, (2024, 6, 15, 12, 0), 2024),
        (2, 29, (2025, 3, 1, 0, 0), 2024),  # only 2024 has the day
    ],
)
def test_rfc3164_year_is_the_one_closest_to_now(month, day, now, year):
    seconds = timestamps.nearest_year(month, day, 0, 0, 0, _epoch(*now))
    assert seconds == _epoch(year, month, day)


def test_rfc3164_year_uses_the_clock(monkeypatch):
    monkeypatch.setattr(timestamps.time, "time", lambda: _epoch(2025, 1, 1, 0, 0, 30))
    record = syslog.parse(b"<34>Dec 31 23:59:50 host app: late")
    assert record is not None
    assert record.timestamp_ns == int(_epoch(2024, 12, 31, 23, 59, 50)) * 10**9


def test_untagged_line_with_an_rfc3164_time_is_syslog_without_pri():
    # sysklogd and macOS write `--- last message repeated N times ---` with no tag.
    record = syslog.parse(b"Oct 11 22:14:15 host no tag here")
    assert record is not None
    assert (record.host, record.service, record.body) == ("host", "", "no tag here")
