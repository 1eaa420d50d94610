"""Format parsers and auto-detection: bytes in, LogRecord out.

A parser is `parse(line: bytes) -> LogRecord | None`; None means "not my format" and the
next candidate is tried. Detection looks at the first bytes before running any regex, and
plain text is the fallback that accepts every line.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.parsing import (
    access,
    errorlog,
    java,
    json_object,
    logfmt,
    pylogging,
    syslog,
    text,
)
from schemas.records import LogRecord

Parser = Callable[[bytes], LogRecord | None]

PARSERS: dict[str, Parser] = {
    "json": json_object.parse,
    "syslog": syslog.parse,
    "access": access.parse,
    "nginx_error": errorlog.parse_nginx,
    "apache_error": errorlog.parse_apache,
    "java": java.parse,
    "python": pylogging.parse,
    "logfmt": logfmt.parse,
    "text": text.parse,
}

_DIGITS = frozenset(b"0123456789")
_MONTH_INITIALS = frozenset(b"JFMASOND")
# The longest IPv6 address is 45 characters; hostnames in access logs are rarely longer.
_MAX_CLIENT = 64


def detect(line: bytes) -> LogRecord:
    """Parse a line with the first format whose cheap prefix check and parser accept it.

    `{` json (else text flagged json_invalid) · `<` syslog · `[` Apache error, or Flask/
    gunicorn when a digit follows · `host - … [` access · digit + `-` java, python, syslog
    (RFC 3339 without PRI) · digit + `/` nginx error · `key=` logfmt · `LEVEL:` python ·
    month name syslog (RFC 3164 file) · otherwise, or when the candidate refuses, text.
    """
    first = line[0] if line else 0
    record: LogRecord | None = None
    if first == 0x7B:  # {
        record = json_object.parse(line)
        if record is None:
            record = text.parse(line)
            record.flags.append("json_invalid")
        return record
    if first == 0x3C:  # <
        record = syslog.parse(line)
    elif first == 0x5B:  # [
        # `[Wed Oct 11 …] [core:error]` (Apache) or `[2024-01-02 …]` (Flask, gunicorn)
        record = pylogging.parse(line) if line[1:2].isdigit() else errorlog.parse_apache(line)
    else:
        space = line.find(b" ", 0, _MAX_CLIENT)
        if space > 0 and line.startswith(b" - ", space) and b"[" in line[space : space + 80]:
            record = access.parse(line)
        if record is None and first in _DIGITS:
            if line[4:5] == b"-":
                record = java.parse(line) or pylogging.parse(line) or syslog.parse(line)
            elif line[4:5] == b"/":
                record = errorlog.parse_nginx(line)
        elif record is None:
            if logfmt.START.match(line):
                record = logfmt.parse(line)
            elif line.startswith(pylogging.BASIC_PREFIXES):
                record = pylogging.parse(line)
            elif first in _MONTH_INITIALS:
                record = syslog.parse(line)
    return record if record is not None else text.parse(line)


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
