"""Turn the many ways producers write time into UTC nanoseconds since the epoch."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Epoch magnitude → unit: anything below 1e11 is seconds (until year 5138), below 1e14 ms, …
_EPOCH_SCALES = ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000), (float("inf"), 1))

# ISO 8601 / RFC 3339 with either T or space, optional fraction (dot or comma) and zone.
LEADING_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?"
)


def from_epoch(value: float) -> int | None:
    if value != value or value <= 0:  # NaN or not after 1970
        return None
    for bound, scale in _EPOCH_SCALES:
        if value < bound:
            return int(value * scale)
    return None


def from_iso(text: str) -> int | None:
    """Nanoseconds for an ISO 8601 string; a time with no zone is taken as UTC."""
    m = LEADING_ISO.match(text.strip())
    if m is None:
        return None
    return from_iso_match(m)


def from_iso_match(m: re.Match[str]) -> int | None:
    date, clock, fraction, zone = m.groups()
    try:
        dt = datetime.fromisoformat(f"{date}T{clock}{_zone(zone)}")
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    nanos = int((fraction or "0").ljust(9, "0")) if fraction else 0
    return int(dt.timestamp()) * 1_000_000_000 + nanos


def _zone(zone: str | None) -> str:
    if not zone:
        return ""
    if zone == "Z":
        return "+00:00"
    return zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"


def from_any(value: object) -> int | None:
    """Nanoseconds for an epoch number, a numeric string or an ISO string; None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_epoch(value)
    if isinstance(value, str):
        if value.replace(".", "", 1).isdigit():
            return from_epoch(float(value))
        return from_iso(value)
    return None
