"""Windows servicing logs (CBS.log, DISM.log): `yyyy-MM-dd HH:mm:ss, Level  Component  msg`."""

from __future__ import annotations

import re

from pipeline.parsing import header, timestamps
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

NAME = "windows_cbs"

# `2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505`
_LINE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d), ([A-Za-z]+) +(\S+) +(.*)", re.ASCII | re.DOTALL
)

# After java, python and syslog, which share the `yyyy-` guard (tested once for all four).
DETECT = (Claim(DIGITS, rank=45, guard=timestamps.leads_with_iso_date),)


def parse(line: bytes) -> LogRecord | None:
    if line[19:21] != b", ":
        return None
    m = header.match(_LINE, line)
    if m is None:
        return None
    year, month, day, hour, minute, second, level, component, message = m.groups()
    ns = timestamps.to_ns(
        timestamps.civil_seconds(
            int(year), int(month), int(day), int(hour), int(minute), int(second)
        )
    )
    if ns is None:
        return None
    return header.record(NAME, ns, level, message, component)
