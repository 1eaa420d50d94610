"""Format parsers and auto-detection: bytes in, LogRecord out.

A parser is `parse(line: bytes) -> LogRecord | None`; None means "not my format" and the
next candidate is tried. Detection looks at the first byte before trying anything costly,
and plain text is the fallback that accepts every non-empty line.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.parsing import json_object, text
from schemas.records import LogRecord

Parser = Callable[[bytes], LogRecord | None]

PARSERS: dict[str, Parser] = {
    "json": json_object.parse,
    "text": text.parse,
}


def detect(line: bytes) -> LogRecord:
    """Parse a non-empty line with the first format that accepts it."""
    if line[:1] == b"{":
        record = json_object.parse(line)
        if record is not None:
            return record
        parsed = text.parse(line)
        parsed.flags.append("json_invalid")
        return parsed
    return text.parse(line)


def parse(line: bytes, forced_format: str | None = None) -> LogRecord:
    """Parse with a forced format (falling back to detection if it does not match) or detect."""
    if forced_format:
        parser = PARSERS.get(forced_format)
        if parser is None:
            raise ValueError(f"unknown format {forced_format!r}: one of {', '.join(PARSERS)}")
        record = parser(line)
        if record is not None:
            return record
        record = detect(line)
        record.flags.append("format_mismatch")
        return record
    return detect(line)
