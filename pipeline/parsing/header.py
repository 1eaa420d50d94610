"""What the text formats shaped `header message` share: matching a decoded line, and a record
whose severity is read from the header's level word."""

from __future__ import annotations

import re

from pipeline.parsing import severity
from schemas.records import LogRecord


def match(pattern: re.Pattern[str], line: bytes) -> re.Match[str] | None:
    """The pattern matched at the start of the line decoded as UTF-8 (bad bytes replaced);
    the decoded text is the match's `string`."""
    return pattern.match(line.decode("utf-8", "replace"))


def record(
    fmt: str,
    ns: int,
    level: str,
    message: str,
    logger: str = "",
    attributes: dict[str, str] | None = None,
) -> LogRecord:
    """A record of `fmt` with the producer's level word kept and its severity read from it."""
    return LogRecord(
        body=message,
        format=fmt,
        timestamp_ns=ns,
        severity=severity.from_level(level),
        level=level,
        logger=logger,
        attributes={} if attributes is None else attributes,
    )
