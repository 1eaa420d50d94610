"""Proxifier's connection log: `[MM.dd HH:mm:ss] program - message`."""

from __future__ import annotations

import re

from pipeline.parsing import header, timestamps
from pipeline.parsing.registry import Claim
from schemas.records import LogRecord

NAME = "proxifier"

_LINE = re.compile(
    r"\[(\d\d)\.(\d\d) (\d\d):(\d\d):(\d\d)\] (\S+(?: \*64)?) - (.*)", re.ASCII | re.DOTALL
)


def _month_dot_day(line: bytes) -> bool:
    return line[3:4] == b"." and line[6:7] == b" "  # `[MM.dd `


# Before python, which tries `[` + digit as a Flask/gunicorn time.
DETECT = (Claim(b"[", rank=25, guard=_month_dot_day),)


def parse(line: bytes) -> LogRecord | None:
    m = _LINE.match(line.decode("utf-8", "replace"))
    if m is None:
        return None
    month, day, hour, minute, second, program, message = m.groups()
    ns = timestamps.to_ns(timestamps.yearless(month, day, hour, minute, second))
    if ns is None:
        return None
    return header.record(NAME, ns, "", message, attributes={"process.executable.name": program})
