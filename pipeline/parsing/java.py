"""Java text logs (log4j/logback patterns, Spring Boot, Hadoop, Spark, ZooKeeper): thread,
logger, source position and stack trace."""

from __future__ import annotations

import re

from pipeline.parsing import header, stacktrace, timestamps
from pipeline.parsing.registry import DIGITS, LETTERS, Claim
from schemas.records import LogRecord

_FLAGS = re.ASCII | re.DOTALL
# Any case: log4j writes upper case, but hand-written layouts and java.util.logging do not.
_LEVEL = r"((?i:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CONFIG|FINE|FINER|FINEST))"
_TIME = re.compile(timestamps.ISO_PATTERN, re.ASCII)
# After the time (whose match takes one following space); thread names may hold spaces.
# Spring Boot: ` INFO 1234 --- [app] [  main] c.e.Foo   : msg` (the [app] part since 3.2)
_SPRING = re.compile(
    rf" *{_LEVEL} +(\d+) +--- +(?:\[[^\]]*\] +)?\[ *([^\]]*)\] +(\S+) *: (.*)", _FLAGS
)
# log4j `%d %-5p [%t] %c{1}:%L - %m` and Hadoop's `%d{ISO8601} %p [%t] %c: %m`
_LEVEL_FIRST = re.compile(rf" *{_LEVEL} +\[([^\]]*)\] +(\S+?)(?::(\d+))?(?: +- |: )(.*)", _FLAGS)
# logback's documented default `%d [%thread] %-5level %logger{36} - %msg`
_THREAD_FIRST = re.compile(rf" *\[([^\]]*)\] +{_LEVEL} +(\S+) +- (.*)", _FLAGS)
# ZooKeeper's `%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m` (thread names hold `[`, `]` and `:`)
_DASHED = re.compile(rf" ?- {_LEVEL} +\[(.*?):([\w$.]+)@(\d+)\] - (.*)", _FLAGS)
# log4j's short dates: Spark's `%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m` and the HDFS
# `%d{yyMMdd HHmmss} <id> %p %c: %m`
_SHORT = re.compile(
    r"(\d\d)(?:/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)|(\d\d)(\d\d) (\d\d)(\d\d)(\d\d))"
    rf"(?:,(\d{{3}}))? (?:(\d+) )?{_LEVEL} +([^\s:]+): (.*)",
    _FLAGS,
)

NAME = "java"


def _short_date(line: bytes) -> bool:
    # `yy/MM/dd HH:` or `yyMMdd HHmmss `
    return (line[2:3] == b"/" and line[5:6] == b"/") or (line[6:7] == b" " and line[13:14] == b" ")


# Before python: `time LEVEL [thread] logger - msg` would also pass as a Python layout.
DETECT = (
    Claim(DIGITS, rank=20, guard=timestamps.leads_with_iso_date),
    Claim(DIGITS, rank=55, guard=_short_date),
    # `file.log <ISO time> …`: lines collected with the name of their file in front
    Claim(LETTERS, rank=25, guard=header.file_prefix),
)


def parse(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    # A comparison, not a call, for the usual line that starts with its time.
    start = 0 if "0" <= text[:1] <= "9" else header.after_file_prefix(text)
    if start < 0:
        return None
    t = _TIME.match(text, start)
    if t is None:
        return _short(text) if start == 0 else None
    pos = t.end()
    attributes: dict[str, str] = {}
    m = _LEVEL_FIRST.match(text, pos)
    if m is not None:
        level, thread, logger, lineno, message = m.groups()
        if lineno:
            attributes["code.lineno"] = lineno
    elif text[pos : pos + 2] in ("- ", " -") and (m := _DASHED.match(text, pos)) is not None:
        level, thread, logger, lineno, message = m.groups()
        attributes["code.lineno"] = lineno
    elif (m := _THREAD_FIRST.match(text, pos)) is not None:
        thread, level, logger, message = m.groups()
    elif (m := _SPRING.match(text, pos)) is not None:
        level, pid, thread, logger, message = m.groups()
        attributes["process.pid"] = pid
    else:
        return None  # before reading the time: most dated lines that reach java are Python's
    ns = timestamps.from_iso_match(t)
    if ns is None:
        return None
    attributes["thread.name"] = thread
    if start:
        attributes["log.file.name"] = text[: start - 1]
    return _record(ns, level, message, logger, attributes)


def _short(text: str) -> LogRecord | None:
    m = _SHORT.match(text)
    if m is None:
        return None
    yy, mo, dd, hh, mi, ss, mo2, dd2, hh2, mi2, ss2, millis, number, level, logger, message = (
        m.groups()
    )
    if mo is None:
        mo, dd, hh, mi, ss = mo2, dd2, hh2, mi2, ss2
    # Two-digit years: 70–99 are the 1900s, as in POSIX strptime's %y.
    year = int(yy) + (1900 if int(yy) >= 70 else 2000)
    ns = timestamps.to_ns(
        timestamps.civil_seconds(year, int(mo), int(dd), int(hh), int(mi), int(ss)), millis
    )
    if ns is None:
        return None
    attributes = {"process.pid": number} if number else {}
    return _record(ns, level, message, logger, attributes)


def _record(
    ns: int, level: str, message: str, logger: str, attributes: dict[str, str]
) -> LogRecord:
    record = header.record(NAME, ns, level, message, logger, attributes)
    stacktrace.attach(record, message)
    return record
