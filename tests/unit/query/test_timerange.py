"""Times and durations as users type them on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.query.timerange import TimeRange, TimeRangeError, parse_duration, parse_time

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 1H ", timedelta(hours=1)),
    ],
)
def test_durations_count_back_from_now(text, ago):
    assert parse_time(text, NOW) == NOW - ago
    assert parse_duration(text) == ago


def test_iso_times_are_utc_unless_zoned():
    assert parse_time("2026-03-04T05:06:07", NOW) == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert parse_time("2026-03-04T05:06:07Z", NOW) == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    zoned = parse_time("2026-03-04T07:06:07+02:00", NOW)
    assert zoned == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC) and zoned.tzinfo is UTC
    assert parse_time("2026-03-04", NOW) == datetime(2026, 3, 4, tzinfo=UTC)
    assert parse_time("now", NOW) == NOW


@pytest.mark.parametrize(
    "text", ["", "1x", "h", "-1h", "yesterday", "1h; DROP TABLE x", "2026-13-01", "1.5h"]
)
def test_unreadable_times_say_what_to_type(text):
    with pytest.raises(TimeRangeError, match="cannot read time") as caught:
        parse_time(text, NOW)
    assert "\n" not in str(caught.value)


def test_unreadable_durations_say_what_to_type():
    with pytest.raises(TimeRangeError, match="like 30s, 15m"):
        parse_duration("soon")


def test_range_reads_both_ends_against_one_now():
    span = TimeRange.parse("1h", "now", now=NOW)
    assert (span.since, span.until) == (NOW - timedelta(hours=1), NOW)
    with pytest.raises(TimeRangeError, match="is not before"):
        TimeRange.parse("1h", "2h", now=NOW)


@pytest.mark.parametrize(
    ("since", "step"),
    [
        ("15m", 60),
        ("1h", 60),
        ("2h", 300),
        ("24h", 1800),
        ("7d", 3 * 3600),
        ("400d", 7 * 86400),
    ],
)
def test_step_gives_at_most_sixty_buckets(since, step):
    assert TimeRange.parse(since, now=NOW).step_seconds() == step
