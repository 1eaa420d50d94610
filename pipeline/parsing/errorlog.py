"""Nginx and Apache httpd error logs: level, pid/tid, client and request context as attributes."""

from __future__ import annotations

import re

from pipeline.parsing import access, severity, timestamps
from schemas.records import LogRecord

# 2024/01/02 03:04:05 [error] 123#0: *45 message, client: 1.2.3.4, server: x, request: "…"
_NGINX = re.compile(
    r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[([a-z]+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)",
    re.ASCII | re.DOTALL,
)
# Nginx appends the request context after the message, always starting with the client.
_NGINX_CONTEXT = re.compile(r', (\w+): ("[^"]*"|[^,]*)', re.ASCII)
_NGINX_KEYS = {
    "client": "client.address",
    "server": "server.address",
    "host": "http.request.header.host",
    "referrer": "http.request.header.referer",
    "upstream": "nginx.upstream",
}

# [Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 456] (13)Permission denied:
# [client 1.2.3.4:5678] AH00035: message, referer: http://…   (2.4; 2.2 has [error] only)
_APACHE = re.compile(
    r"\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})\]"
    r" \[(?:([^\]:\s]+):)?([a-z]+\d?)\]"
    r"(?: \[pid (\d+)(?::tid (\d+))?\])?"
    r"(?: ([^\[\]]*?):(?= \[(?:client|remote) ))?"
    r"(?: \[(?:client|remote) ([^\]\s]+)\])?"
    r" ?(.*)",
    re.ASCII | re.DOTALL,
)
_APACHE_CODE = re.compile(r"AH\d{5}(?=: )", re.ASCII)


def parse_nginx(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    m = _NGINX.match(text)
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
        for key, value in _NGINX_CONTEXT.findall(message, context):
            if value[:1] == '"':
                value = value[1:-1]
            if key == "request":
                access.add_request(value, attributes)
            else:
                attributes[_NGINX_KEYS.get(key) or f"nginx.{key}"] = value
        message = message[:context]
    return LogRecord(
        body=message,
        format="nginx_error",
        timestamp_ns=ns,
        severity=severity.from_level(level),
        level=level,
        attributes=attributes,
    )


def parse_apache(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    m = _APACHE.match(text)
    if m is None:
        return None
    month_name, day, hour, minute, second, fraction, year = m.group(1, 2, 3, 4, 5, 6, 7)
    module, level, pid, tid, prefix, client, message = m.group(8, 9, 10, 11, 12, 13, 14)
    month = timestamps.MONTHS.get(month_name)
    if month is None:
        return None
    ns = timestamps.to_ns(
        timestamps.civil_seconds(int(year), month, int(day), int(hour), int(minute), int(second)),
        fraction,
    )
    if ns is None:
        return None
    attributes: dict[str, str] = {}
    if module:
        attributes["apache.module"] = module
    if pid:
        attributes["process.pid"] = pid
    if tid:
        attributes["thread.id"] = tid
    if client:
        address, colon, port = client.rpartition(":")
        # 2.4 writes address:port (IPv6 too); 2.2 writes the bare address.
        if colon and port.isdigit() and (pid or address.count(":") == 0):
            attributes["client.address"] = address
            attributes["client.port"] = port
        else:
            attributes["client.address"] = client
    code = _APACHE_CODE.match(message)
    if code is not None:
        attributes["apache.error_code"] = code.group()
    if prefix:
        # The APR status or source position before [client] ("(13)Permission denied") belongs
        # to the message.
        message = f"{prefix}: {message}"
    referer = message.rfind(", referer: ")
    if referer >= 0:
        attributes["http.request.header.referer"] = message[referer + 11 :]
        message = message[:referer]
    return LogRecord(
        body=message,
        format="apache_error",
        timestamp_ns=ns,
        severity=severity.from_level(level.rstrip("0123456789")),
        level=level,
        attributes=attributes,
    )
