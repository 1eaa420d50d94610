"""Plain text: the fallback that accepts any line, sniffing a leading time and a level word."""

from __future__ import annotations

import re

from pipeline import severity, timestamps
from schemas.records import LogRecord

# Upper-case level words only: "error" in prose ("no error found") must not mark a line.
_LEVEL = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|CRIT|CRITICAL|ALERT|EMERG|FATAL|PANIC)\b"
)


def parse(line: bytes) -> LogRecord:
    body = line.decode("utf-8", "replace")
    record = LogRecord(body=body.strip(), format="text")
    head = body[:256]
    m = timestamps.LEADING_ISO.match(head.lstrip())
    if m is not None:
        record.timestamp_ns = timestamps.from_iso_match(m) or 0
    level = _LEVEL.search(head)
    if level is not None:
        record.level = level.group(1)
        record.severity = severity.from_level(record.level)
    return record
