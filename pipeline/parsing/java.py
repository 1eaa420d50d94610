"""Java text logs (log4j/logback patterns, Spring Boot): thread, logger and stack trace."""

from __future__ import annotations

import re

from pipeline.parsing import header, stacktrace, timestamps
from pipeline.parsing.registry import DIGITS, Claim
from schemas.records import LogRecord

_FLAGS = re.ASCII | re.DOTALL
_LEVEL = r"(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CONFIG|FINE|FINER|FINEST)"
_TIME = re.compile(timestamps.ISO_PATTERN, re.ASCII)
# After the time (whose match takes one following space); thread names may hold spaces.
# Spring Boot: ` INFO 1234 --- [app] [  main] c.e.Foo   : msg` (the [app] part since 3.2)
_SPRING = re.compile(
    rf" *{_LEVEL} +(\d+) +--- +(?:\[[^\]]*\] +)?\[ *([^\]]*)\] +(\S+) *: (.*)", _FLAGS
)
# log4j `%d %-5p [%t] %c{1}:%L - %m`
_LEVEL_FIRST = re.compile(rf" *{_LEVEL} +\[([^\]]*)\] +(\S+?)(?::(\d+))? +- (.*)", _FLAGS)
# logback's documented default `%d [%thread] %-5level %logger{36} - %msg`
_THREAD_FIRST = re.compile(rf" *\[([^\]]*)\] +{_LEVEL} +(\S+) +- (.*)", _FLAGS)

NAME = "java"
# Before python: `time LEVEL [thread] logger - msg` would also pass as a Python layout.
DETECT = (Claim(DIGITS, rank=20, guard=timestamps.leads_with_iso_date),)


def parse(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    t = _TIME.match(text)
    if t is None:
        return None
    ns = timestamps.from_iso_match(t)
    if ns is None:
        return None
    pos = t.end()
    attributes: dict[str, str] = {}
    m = _LEVEL_FIRST.match(text, pos)
    if m is not None:
        level, thread, logger, lineno, message = m.groups()
        if lineno:
            attributes["code.lineno"] = lineno
    elif (m := _THREAD_FIRST.match(text, pos)) is not None:
        thread, level, logger, message = m.groups()
    elif (m := _SPRING.match(text, pos)) is not None:
        level, pid, thread, logger, message = m.groups()
        attributes["process.pid"] = pid
    else:
        return None
    attributes["thread.name"] = thread
    record = header.record(NAME, ns, level, message, logger, attributes)
    stacktrace.attach(record, message)
    return record
