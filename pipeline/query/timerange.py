"""Time ranges as users type them (`1h` ago, an ISO time, `now`), resolved to UTC datetimes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.errors import LogweirError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d{1,9})\s*([smhdw])$")
# Bucket sizes a chart or trend can step by; the smallest giving at most `points` buckets wins.
_STEPS = (60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)


class TimeRangeError(LogweirError):
    """A time or duration the user typed could not be read."""


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d`, `2w` → a timedelta."""
    m = _DURATION.match(text.strip().lower())
    if m is None:
        raise TimeRangeError(
            f"cannot read duration {text!r}: use a number and a unit, like 30s, 15m, 1h, 7d or 2w"
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def parse_time(text: str, now: datetime) -> datetime:
    """A duration before `now` (`1h`), `now`, or an ISO 8601 time (UTC unless it has a zone)."""
    text = text.strip()
    if text.lower() == "now":
        return now
    if _DURATION.match(text.lower()):
        return now - parse_duration(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise TimeRangeError(
            f"cannot read time {text!r}: use a duration ago like 15m, 1h or 7d, or an ISO time "
            "like 2026-03-04T05:06:07Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TimeRange:
    since: datetime
    until: datetime

    @classmethod
    def parse(cls, since: str, until: str = "now", now: datetime | None = None) -> TimeRange:
        """Both ends read against one `now`, so `--since 1h` is exactly an hour long."""
        now = now or datetime.now(UTC)
        found = cls(parse_time(since, now), parse_time(until, now))
        if found.since >= found.until:
            raise TimeRangeError(
                f"--since {since} is not before --until {until}: the range would be empty"
            )
        return found

    def step_seconds(self, points: int = 60) -> int:
        """A bucket size that splits the range into at most `points` buckets (at least a minute)."""
        span = (self.until - self.since).total_seconds()
        return next((step for step in _STEPS if span / step <= points), _STEPS[-1])


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows a report or an export reads: a time range, optionally one service."""

    since: datetime
    until: datetime
    service: str = ""
