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
    host: str = "",
) -> LogRecord:
    """A record of `fmt` with the producer's level word kept and its severity read from it
    (`level` "" for a format that writes none: no severity)."""
    return LogRecord(
        body=message,
        format=fmt,
        timestamp_ns=ns,
        severity=severity.from_level(level),
        level=level,
        host=host,
        logger=logger,
        attributes={} if attributes is None else attributes,
    )


# `nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 …`: a file name (one token of at
# most 128 bytes) before an ISO date, as collectors that prefix each line with its file write.
# A bytes pattern, so that detection's guard runs no Python frame; kept as one object, so that
# the formats sharing it as their guard test it once per line.
_FILE_PREFIX = re.compile(rb"[^\s=\[\]{}\"]{1,128} \d{4}-\d\d-\d\d[ T]\d", re.ASCII)
file_prefix = _FILE_PREFIX.match


def after_file_prefix(text: str) -> int:
    """Where the time starts: 0 for a line that starts with it (a digit), after the file name
    for `file.log <yyyy-mm-dd…>`, -1 for anything else."""
    if text[:1].isdigit():
        return 0
    space = text.find(" ", 1, 130)
    if space < 0 or text[space + 5 : space + 6] != "-" or not text[space + 1 : space + 5].isdigit():
        return -1
    return space + 1
