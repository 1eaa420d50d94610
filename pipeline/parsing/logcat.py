"""Android logcat text (`adb logcat -v threadtime`, the default, and `-v time`): tag, pid, tid."""

from __future__ import annotations

import re

from pipeline.parsing import header, timestamps
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

NAME = "logcat"

_FLAGS = re.ASCII | re.DOTALL
# threadtime: `03-17 16:13:38.819  1702  8671 D Tag     : msg` (logprint's "%5d %5d %c %-8s: ")
_THREADTIME = re.compile(
    r"(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3,6}) +(\d+) +(\d+) ([VDIWEFAS]) (.*?) *: (.*)",
    _FLAGS,
)
# time: `03-17 16:13:38.819 D/Tag( 1702): msg`
_TIME = re.compile(
    r"(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3,6}) ([VDIWEFAS])/(.*?)\( *(\d+)\): (.*)", _FLAGS
)


def _month_day(line: bytes) -> bool:
    return line[2:3] == b"-" and line[5:6] == b" " and line[8:9] == b":"  # `MM-dd HH:`


DETECT = (Claim(DIGITS, rank=50, guard=_month_day),)


def parse(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    m = _THREADTIME.match(text)
    if m is not None:
        month, day, hour, minute, second, fraction, pid, tid, level, tag, message = m.groups()
    else:
        m = _TIME.match(text)
        if m is None:
            return None
        month, day, hour, minute, second, fraction, level, tag, pid, message = m.groups()
        tid = ""
    ns = timestamps.to_ns(timestamps.yearless(month, day, hour, minute, second), fraction)
    if ns is None:
        return None
    attributes = {"process.pid": pid}
    if tid:
        attributes["thread.id"] = tid
    return header.record(NAME, ns, level, message, tag.strip(), attributes)
