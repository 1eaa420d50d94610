"""Turn the many ways producers write time into UTC nanoseconds since the epoch."""

from __future__ import annotations

import re
import time
from functools import lru_cache

NS = 1_000_000_000
# DateTime64(9) ends at the int64 limit (2262-04-11); a time past it is a misread.
_MAX_NS = 2**63 - 1

# Epoch magnitude → unit: anything below 1e11 is seconds (until year 5138), below 1e14 ms, …
_EPOCH_SCALES = ((1e11, NS), (1e14, 1_000_000), (1e17, 1_000))

# ISO 8601 / RFC 3339 with T or space, optional fraction (dot or comma) and zone. Kept as a
# pattern string so format regexes can start with it: its 8 groups come first in theirs.
ISO_PATTERN = (
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"\s?([Zz]|[+-]\d{2}:?\d{2})?"
)
LEADING_ISO = re.compile(ISO_PATTERN, re.ASCII)

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def leads_with_iso_date(line: bytes) -> bool:
    """For detection, on a line that starts with a digit: does it start `yyyy-`?"""
    return line[4:5] == b"-"


def civil_seconds(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> int | None:
    """Seconds since the epoch for a UTC calendar time; None if the date does not exist.

    Plain integer arithmetic (Hinnant's days_from_civil) rather than datetime: one path for
    month names, yearless syslog and nanosecond fractions, with no object per line.
    """
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month]):
        return None
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return None
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second rolls into the next minute
        return None
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


def to_ns(seconds: int | None, fraction: str | None = None, offset_s: int = 0) -> int | None:
    """Nanoseconds for local seconds, a decimal fraction ("123" = .123 s) and a zone offset."""
    if seconds is None:
        return None
    ns = (seconds - offset_s) * NS
    if fraction:
        ns += int(fraction[:9].ljust(9, "0"))
    return ns if 0 < ns <= _MAX_NS else None


@lru_cache(maxsize=64)
def zone_offset(zone: str | None) -> int | None:
    """Seconds east of UTC for Z, ±hh:mm or ±hhmm; 0 when absent (unknown zone means UTC)."""
    if not zone or zone in ("Z", "z"):
        return 0
    hours, minutes = int(zone[1:3]), int(zone[-2:])
    if hours > 23 or minutes > 59:
        return None
    offset = hours * 3600 + minutes * 60
    return -offset if zone[0] == "-" else offset


# Lines arrive many per second: caching the whole-second part skips most of the arithmetic.
@lru_cache(maxsize=4096)
def _iso_seconds(stamp: str) -> int | None:
    return civil_seconds(
        int(stamp[0:4]),
        int(stamp[5:7]),
        int(stamp[8:10]),
        int(stamp[11:13]),
        int(stamp[14:16]),
        int(stamp[17:19]),
    )


def from_iso_match(m: re.Match[str]) -> int | None:
    """Nanoseconds from a match whose first 8 groups are ISO_PATTERN's."""
    start = m.start(1)
    fraction, zone = m.group(7, 8)
    offset = zone_offset(zone) if zone else 0
    if offset is None:
        return None
    return to_ns(_iso_seconds(m.string[start : start + 19]), fraction, offset)


def from_iso(text: str) -> int | None:
    """Nanoseconds for an ISO 8601 string; a time with no zone is taken as UTC."""
    m = LEADING_ISO.match(text.strip())
    return None if m is None else from_iso_match(m)


def from_epoch(value: float) -> int | None:
    """Nanoseconds for an epoch number in s, ms, µs or ns (told apart by magnitude)."""
    if not 0 < value < 1e19:  # also refuses NaN and infinities; 1e19 ns is past 2262
        return None
    scale = _epoch_scale(value)
    ns = int(value * scale) if isinstance(value, float) else value * scale
    return ns if ns <= _MAX_NS else None


def _epoch_scale(value: float) -> int:
    for bound, scale in _EPOCH_SCALES:
        if value < bound:
            return scale
    return 1


def _from_decimal(value: str) -> int | None:
    # Digits are exact where a float is not: "1704164645.123456789" keeps its nanoseconds.
    whole, _, fraction = value.partition(".")
    seconds = int(whole or "0")
    ns = from_epoch(seconds)
    if ns is None or not fraction:
        return ns
    digits = len(str(_epoch_scale(seconds))) - 1
    ns += int(fraction[:digits].ljust(digits, "0") or "0")
    return ns if ns <= _MAX_NS else None


def from_any(value: object) -> int | None:
    """Nanoseconds for an epoch number, a numeric string or an ISO string; None if unknown."""
    if isinstance(value, str):
        m = LEADING_ISO.match(value.strip())
        if m is not None:
            return from_iso_match(m)
        # isascii: str.isdigit also accepts "²" and other digits int() refuses; the length
        # bound keeps int() away from its 4300-digit limit.
        if len(value) <= 30 and value.isascii() and value.replace(".", "", 1).isdigit():
            return _from_decimal(value)
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_epoch(value)
    return None


def nearest_year(
    month: int, day: int, hour: int, minute: int, second: int, now_s: float
) -> int | None:
    """Epoch seconds for a yearless time (syslog RFC 3164) in the year that puts it closest to now.

    A December line read on January 1st is last year's; a January line read on December
    31st (a sender's clock slightly ahead) is next year's.
    """
    this_year = time.gmtime(now_s).tm_year
    best: int | None = None
    for year in (this_year - 1, this_year, this_year + 1):
        candidate = civil_seconds(year, month, day, hour, minute, second)
        if candidate is not None and (best is None or abs(candidate - now_s) < abs(best - now_s)):
            best = candidate
    return best


def yearless(month: str, day: str, hour: str, minute: str, second: str) -> int | None:
    """Epoch seconds for a time written without a year (`Mmm dd hh:mm:ss` of syslog, `MM-dd`
    of logcat) in the year that puts it closest to now; `month` is a name (`Jan`) or a number.
    None for an unknown month name or a date that does not exist."""
    number = int(month) if month.isdecimal() else MONTHS.get(month)
    if number is None:
        return None
    return nearest_year(number, int(day), int(hour), int(minute), int(second), time.time())
