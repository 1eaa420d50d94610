"""Pipe-delimited headers with a compact time: `yyyyMMdd-HH:mm:ss:SSS|component|pid|message`
(Huawei's Health app and other Android services)."""

from __future__ import annotations

import re

from pipeline.parsing import timestamps
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

NAME = "pipe_delimited"

_LINE = re.compile(
    r"(\d{4})(\d\d)(\d\d)-(\d{1,2}):(\d\d):(\d\d)(?:[:.,](\d{1,9}))?\|([^|]*)\|(\d*)\|(.*)",
    re.ASCII | re.DOTALL,
)


def _compact_date(line: bytes) -> bool:
    return line[8:9] == b"-" and b"|" in line[16:30]  # `yyyyMMdd-H…|`


DETECT = (Claim(DIGITS, rank=55, guard=_compact_date),)


def parse(line: bytes) -> LogRecord | None:
    m = _LINE.match(line.decode("utf-8", "replace"))
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, component, pid, message = m.groups()
    ns = timestamps.to_ns(
        timestamps.civil_seconds(
            int(year), int(month), int(day), int(hour), int(minute), int(second)
        ),
        fraction,
    )
    if ns is None:
        return None
    attributes = {"process.pid": pid} if pid else {}
    return LogRecord(
        body=message, format=NAME, timestamp_ns=ns, logger=component, attributes=attributes
    )
