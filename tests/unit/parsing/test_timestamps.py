"""Time parsing: ISO 8601 variants, epochs in any unit, zones, and impossible dates."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.parsing import timestamps
from tests.support.golden import iso_ns

NS = 10**9


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2262, 1, 1)))
def test_civil_seconds_agrees_with_the_calendar_module(dt):
    expected = calendar.timegm(dt.timetuple())
    assert (
        timestamps.civil_seconds(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
        == expected
    )


@pytest.mark.parametrize(
    "date",
    [(2023, 2, 29), (1900, 2, 29), (2024, 4, 31), (2024, 13, 1), (2024, 0, 1), (2024, 1, 0)],
)
def test_impossible_dates_are_none(date):
    assert timestamps.civil_seconds(*date, 0, 0, 0) is None


def test_leap_day_exists_in_leap_years():
    assert timestamps.civil_seconds(2000, 2, 29, 0, 0, 0) == calendar.timegm((2000, 2, 29, 0, 0, 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),  # no zone: UTC
        ("2024-01-02 03:04:05,123", "2024-01-02T03:04:05.123Z"),
        ("2024-01-02t03:04:05.123456789z", "2024-01-02T03:04:05.123456789Z"),
        ("2024-01-02T03:04:05.5+0530", "2024-01-01T21:34:05.5Z"),
        ("2024-01-02T03:04:05-07:00", "2024-01-02T10:04:05Z"),
        ("2024-01-02 03:04:05 +0100", "2024-01-02T02:04:05Z"),
        ("  2024-01-02T03:04:05Z trailing text", "2024-01-02T03:04:05Z"),
    ],
)
def test_iso_variants(text, expected):
    assert timestamps.from_iso(text) == iso_ns(expected)


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00Z",
        "2024-01-02T24:00:00Z",
        "2024-01-02T03:04:05+25:00",
        "1969-12-31T23:59:59Z",
        "yesterday",
        "2024-01-02",
    ],
)
def test_invalid_iso_is_none(text):
    assert timestamps.from_iso(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1704164645, 1704164645 * NS),  # seconds
        (1704164645123, 1704164645123 * 10**6),  # milliseconds
        (1704164645123456, 1704164645123456 * 10**3),  # microseconds
        (1704164645123456789, 1704164645123456789),  # nanoseconds
        (1704164645.5, 1704164645 * NS + NS // 2),
        ("1704164645", 1704164645 * NS),
        ("1704164645123", 1704164645123 * 10**6),
        ("1704164645.123456789", 1704164645123456789),  # exact, unlike a float
        ("2024-01-02T03:04:05Z", 1704164645 * NS),
        (0, None),
        (-5, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**30, None),
        (True, None),
        ("¹²³", None),
        ("1" * 5000, None),
        ([1704164645], None),
    ],
)
def test_from_any(value, expected):
    assert timestamps.from_any(value) == expected


@pytest.mark.parametrize(
    ("zone", "offset"), [(None, 0), ("Z", 0), ("+01:00", 3600), ("-0730", -27000), ("+99:00", None)]
)
def test_zone_offset(zone, offset):
    assert timestamps.zone_offset(zone) == offset


def test_nearest_year_prefers_last_year_for_a_december_line_in_january():
    now = datetime(2025, 1, 1, 0, 1, tzinfo=UTC).timestamp()
    expected = datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    assert timestamps.nearest_year(12, 31, 23, 59, 59, now) == expected
