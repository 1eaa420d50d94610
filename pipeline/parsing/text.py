"""Plain text: the fallback that accepts any line, sniffing a leading time, a level and a trace."""

from __future__ import annotations

import re

from pipeline.parsing import severity, stacktrace, timestamps
from pipeline.parsing.registry import FALLBACK, Parsed
from schemas.records import LogRecord, Severity

# Upper-case level words only: "error" in prose ("no error found") must not mark a line.
_LEVEL = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|CRIT|CRITICAL|ALERT|EMERG|FATAL"
    r"|PANIC)\b",
    re.ASCII,
)
# Go's log package and many C daemons: 2024/01/02 03:04:05[.000000]
_SLASHED = re.compile(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?", re.ASCII)
_HEAD = 256

NAME = "text"
DETECT = FALLBACK  # every line no other format accepted


def parse(line: bytes) -> LogRecord:
    body = line.decode("utf-8", "replace")
    record = LogRecord(body=body, format=NAME)
    head = body[:_HEAD]
    if head[:1].isdigit():
        record.timestamp_ns = _leading_time(head)
    level = sniff_level(head)
    if level:
        record.level = level
        record.severity = severity.from_level(level)
    stacktrace.attach(record, body)
    return record


def parse_group(lines: list[bytes]) -> list[Parsed | None]:
    """`parse` of each line, as fields (see registry.Parsed); lines of several lines (a
    traceback) take `parse`."""
    out: list[Parsed | None] = []
    from_level, unspecified = severity.from_level, Severity.UNSPECIFIED
    for line in lines:
        body = line.decode("utf-8", "replace")
        if "\n" in body:
            out.append(None)
            continue
        head = body[:_HEAD]
        ns = _leading_time(head) if head[:1].isdigit() else 0
        level = sniff_level(head)
        sev = from_level(level) if level else unspecified
        out.append((ns, sev, level, "", "", "", "", "", body, {}, []))
    return out


def sniff_level(text: str) -> str:
    """The first upper-case level word in text, or ""."""
    m = _LEVEL.search(text)
    return "" if m is None else m.group(1)


def _leading_time(head: str) -> int:
    m = timestamps.LEADING_ISO.match(head)
    if m is not None:
        return timestamps.from_iso_match(m) or 0
    m = _SLASHED.match(head)
    if m is None:
        return 0
    year, month, day, hour, minute, second, fraction = m.groups()
    seconds = timestamps.civil_seconds(
        int(year), int(month), int(day), int(hour), int(minute), int(second)
    )
    return timestamps.to_ns(seconds, fraction) or 0
