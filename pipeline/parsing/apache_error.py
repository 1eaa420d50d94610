"""Apache httpd error logs (2.2 and 2.4): level, module, pid/tid, client, APR status, AH code."""

from __future__ import annotations

import re

from pipeline.parsing import header, timestamps
from pipeline.parsing.registry import Claim
from schemas.records import LogRecord

NAME = "apache_error"

# [Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 456] (13)Permission denied:
# [client 1.2.3.4:5678] AH00035: message, referer: http://…   (2.4; 2.2 has [error] only)
_LINE = re.compile(
    r"\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})\]"
    r" \[(?:([^\]:\s]+):)?([a-z]+\d?)\]"
    r"(?: \[pid (\d+)(?::tid (\d+))?\])?"
    r"(?: ([^\[\]]*?):(?= \[(?:client|remote) ))?"
    r"(?: \[(?:client|remote) ([^\]\s]+)\])?"
    r" ?(.*)",
    re.ASCII | re.DOTALL,
)
_ERROR_CODE = re.compile(r"AH\d{5}(?=: )", re.ASCII)


# After python, which takes `[` + digit (Flask, gunicorn): the other bracketed lines.
DETECT = (Claim(b"[", rank=40),)


def parse(line: bytes) -> LogRecord | None:
    m = header.match(_LINE, line)
    if m is None:
        return None
    ns = _time_ns(*m.group(1, 2, 3, 4, 5, 6, 7))
    if ns is None:
        return None
    module, level, pid, tid, prefix, client, message = m.group(8, 9, 10, 11, 12, 13, 14)
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
    code = _ERROR_CODE.match(message)
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
    # The levels trace1 … trace8 are all trace; the word is kept as written.
    record = header.record(NAME, ns, level.rstrip("0123456789"), message, "", attributes)
    record.level = level
    return record


def _time_ns(
    month_name: str, day: str, hour: str, minute: str, second: str, fraction: str, year: str
) -> int | None:
    month = timestamps.MONTHS.get(month_name)
    if month is None:
        return None
    return timestamps.to_ns(
        timestamps.civil_seconds(int(year), month, int(day), int(hour), int(minute), int(second)),
        fraction,
    )
