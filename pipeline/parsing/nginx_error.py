"""Nginx error logs: level, pid/tid, connection, and the request context as attributes."""

from __future__ import annotations

import re

from pipeline.parsing import access, header, timestamps
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

NAME = "nginx_error"

# 2024/01/02 03:04:05 [error] 123#0: *45 message, client: 1.2.3.4, server: x, request: "…"
_LINE = re.compile(
    r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[([a-z]+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)",
    re.ASCII | re.DOTALL,
)
# Nginx appends the request context after the message, always starting with the client.
_CONTEXT = re.compile(r', (\w+): ("[^"]*"|[^,]*)', re.ASCII)
_CONTEXT_KEYS = {
    "client": "client.address",
    "server": "server.address",
    "host": "http.request.header.host",
    "referrer": "http.request.header.referer",
    "upstream": "nginx.upstream",
}


def _slashed_date(line: bytes) -> bool:
    return line[4:5] == b"/"  # yyyy/


# After the formats that want `yyyy-` (their shared guard then runs once for the three).
DETECT = (Claim(DIGITS, rank=50, guard=_slashed_date),)


def parse(line: bytes) -> LogRecord | None:
    m = header.match(_LINE, line)
    if m is None:
        return None
    year, month, day, hour, minute, second, level, pid, tid, connection, message = m.groups()
    # Nginx writes local time without a zone: taken as UTC, like every zoneless time.
    ns = timestamps.to_ns(
        timestamps.civil_seconds(
            int(year), int(month), int(day), int(hour), int(minute), int(second)
        )
    )
    if ns is None:
        return None
    attributes = {"process.pid": pid, "thread.id": tid}
    if connection:
        attributes["nginx.connection"] = connection
    context = message.find(", client: ")
    if context >= 0:
        for key, value in _CONTEXT.findall(message, context):
            if value[:1] == '"':
                value = value[1:-1]
            if key == "request":
                access.add_request(value, attributes)
            else:
                attributes[_CONTEXT_KEYS.get(key) or f"nginx.{key}"] = value
        message = message[:context]
    return header.record(NAME, ns, level, message, "", attributes)
