"""Time layouts and zones of user formats: `time_format` (a named layout or a strptime one)
and `timezone` (of times written without one) into a cached `text → UTC ns or None`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pipeline.parsing import timestamps
from pipeline.parsing.user_formats.yaml_file import Reader

NAMED_LAYOUTS = (
    "auto",
    "iso8601",
    "rfc3339",
    "httpdate",
    "syslog",
    "epoch",
    "epoch_s",
    "epoch_ms",
    "epoch_us",
    "epoch_ns",
)

_HTTPDATE = re.compile(
    r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r" ?([+-]\d{2}:?\d{2})?$",
    re.ASCII,
)
_SYSLOG = re.compile(
    r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?$", re.ASCII
)
_DECIMAL = re.compile(r"\d{1,20}(?:\.\d{1,9})?", re.ASCII)
_EPOCH_UNITS = {"epoch_s": 10**9, "epoch_ms": 10**6, "epoch_us": 10**3, "epoch_ns": 1}
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%s")
_DATE_DIRECTIVES = ("%d", "%j", "%m", "%b", "%B", "%U", "%W", "%V", "%s", "%c", "%x")
_SAMPLE = datetime(2024, 3, 5, 14, 2, 11, 123456, tzinfo=UTC)

Zone = Callable[[int], int]  # local epoch seconds (as if UTC) → offset east of UTC, seconds


def _zone(reader: Reader, path: tuple[str, ...], given: Any) -> Zone | None:
    if given is None or given in ("UTC", "utc", "Z", "GMT"):
        return lambda local: 0
    if not isinstance(given, str):
        reader.problem(path, "must be UTC, an offset like +02:00, or a zone like Europe/Paris")
        return None
    if re.fullmatch(r"[+-]\d{2}:?\d{2}", given):
        offset = timestamps.zone_offset(given)
        if offset is None:
            reader.problem(path, f"{given!r} is not an offset of at most ±23:59")
            return None
        return lambda local: offset
    import zoneinfo

    try:
        zone = zoneinfo.ZoneInfo(given)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reader.problem(path, f"unknown time zone {given!r}: use UTC, +02:00 or e.g. Europe/Paris")
        return None
    epoch = datetime(1970, 1, 1)

    def offset_of(local: int) -> int:
        moment = (epoch + timedelta(seconds=local)).replace(tzinfo=zone)
        found = moment.utcoffset()
        return 0 if found is None else int(found.total_seconds())

    return offset_of


def time_parser(
    reader: Reader, here: tuple[str, ...], layout: Any, timezone: Any
) -> Callable[[str], int | None] | None:
    """A cached `text → UTC ns or None` for the format's time layout and zone."""
    zone = _zone(reader, (*here, "timezone"), timezone)
    path = (*here, "time_format")
    if layout is None:
        layout = "auto"
    if not isinstance(layout, str) or not layout:
        reader.problem(path, "must be a strptime layout or one of " + ", ".join(NAMED_LAYOUTS))
        return None
    if zone is None:
        return None
    named = layout.lower()
    parse: Callable[[str], int | None]
    if named in NAMED_LAYOUTS:
        parse = _named_layout(named, zone)
    elif "%" in layout:
        parse = _strptime_layout(layout, zone)
        try:
            written = _SAMPLE.strftime(layout)
            datetime.strptime(
                written if _has(layout, _YEAR_DIRECTIVES) else f"2000 {written}",
                layout if _has(layout, _YEAR_DIRECTIVES) else f"%Y {layout}",
            )
        except ValueError as exc:
            reader.problem(path, f"{layout!r} is not a strptime layout it can read: {exc}")
            return None
    else:
        reader.problem(
            path,
            f"{layout!r} is neither a strptime layout (with % directives) nor one of "
            + ", ".join(NAMED_LAYOUTS),
        )
        return None
    return lru_cache(maxsize=4096)(parse)


def _has(layout: str, directives: tuple[str, ...]) -> bool:
    return any(d in layout for d in directives)


def _local_ns(seconds: int | None, fraction: str | None, zone: Zone) -> int | None:
    if seconds is None:
        return None
    return timestamps.to_ns(seconds, fraction, zone(seconds))


def _named_layout(layout: str, zone: Zone) -> Callable[[str], int | None]:
    if layout in ("iso8601", "rfc3339"):
        return lambda value: _iso(value.strip(), zone)
    if layout == "httpdate":
        return lambda value: _httpdate(value.strip(), zone)
    if layout == "syslog":
        return lambda value: _syslog(value.strip(), zone)
    if layout == "epoch":
        return lambda value: (
            timestamps.from_any(value.strip()) if _DECIMAL.fullmatch(value.strip()) else None
        )
    if layout in _EPOCH_UNITS:
        unit = _EPOCH_UNITS[layout]
        return lambda value: _epoch(value.strip(), unit)

    def auto(value: str) -> int | None:
        value = value.strip()
        iso = timestamps.LEADING_ISO.match(value)
        if iso is not None:
            return _iso(value, zone)
        return timestamps.from_any(value) or _httpdate(value, zone) or _syslog(value, zone)

    return auto


def _iso(value: str, zone: Zone) -> int | None:
    m = timestamps.LEADING_ISO.match(value)
    if m is None:
        return None
    ns = timestamps.from_iso_match(m)
    if ns is None or m.group(8):
        return ns
    offset = zone(ns // timestamps.NS)
    return ns - offset * timestamps.NS if offset else ns


def _httpdate(value: str, zone: Zone) -> int | None:
    m = _HTTPDATE.match(value)
    if m is None:
        return None
    day, month_name, year, hour, minute, second, fraction, offset = m.groups()
    month = timestamps.MONTHS.get(month_name)
    if month is None:
        return None
    seconds = timestamps.civil_seconds(
        int(year), month, int(day), int(hour), int(minute), int(second)
    )
    if offset:
        east = timestamps.zone_offset(offset)
        return None if east is None else timestamps.to_ns(seconds, fraction, east)
    return _local_ns(seconds, fraction, zone)


def _syslog(value: str, zone: Zone) -> int | None:
    m = _SYSLOG.match(value)
    if m is None:
        return None
    month_name, day, hour, minute, second, fraction = m.groups()
    return _local_ns(timestamps.yearless(month_name, day, hour, minute, second), fraction, zone)


def _epoch(value: str, unit: int) -> int | None:
    if not _DECIMAL.fullmatch(value):
        return None
    whole, _, fraction = value.partition(".")
    ns = int(whole) * unit
    if fraction and unit > 1:
        digits = len(str(unit)) - 1
        ns += int(fraction[:digits].ljust(digits, "0"))
    return ns if 0 < ns < 2**63 else None


def _strptime_layout(layout: str, zone: Zone) -> Callable[[str], int | None]:
    has_year = _has(layout, _YEAR_DIRECTIVES)
    has_date = _has(layout, _DATE_DIRECTIVES)
    full_layout = layout if has_year else f"%Y {layout}"

    def parse(value: str) -> int | None:
        # Yearless layouts read in 2000, a leap year, so that Feb 29 parses; the year is then
        # the one nearest now (like syslog's), and with no date at all, the nearest day.
        try:
            when = datetime.strptime(
                value.strip() if has_year else f"2000 {value.strip()}", full_layout
            )
        except ValueError:
            return None
        if has_year:
            seconds = timestamps.civil_seconds(
                when.year, when.month, when.day, when.hour, when.minute, when.second
            )
        elif has_date:
            seconds = _nearest_year(when)
        else:
            seconds = _nearest_day(when.hour * 3600 + when.minute * 60 + when.second)
        if seconds is None:
            return None
        offset = when.utcoffset()
        east = int(offset.total_seconds()) if offset is not None else zone(seconds)
        ns = (seconds - east) * timestamps.NS + when.microsecond * 1000
        return ns if 0 < ns < 2**63 else None

    return parse


def _nearest_year(when: datetime) -> int | None:
    """Epoch seconds of a yearless time in the year nearest now (Feb 29: the nearest leap
    year, which may be further than the next or the last one)."""
    now = time.time()
    found = timestamps.nearest_year(when.month, when.day, when.hour, when.minute, when.second, now)
    if found is not None:
        return found
    year = time.gmtime(now).tm_year
    candidates = [
        timestamps.civil_seconds(y, when.month, when.day, when.hour, when.minute, when.second)
        for y in range(year - 4, year + 5)
    ]
    return min((c for c in candidates if c is not None), key=lambda c: abs(c - now), default=None)


def _nearest_day(second_of_day: int) -> int:
    now = int(time.time())
    today = now - now % 86400 + second_of_day
    return min((today - 86400, today, today + 86400), key=lambda t: abs(t - now))
