"""Python logging text formats (default, cookbook, basicConfig, loguru, Flask, gunicorn)."""

from __future__ import annotations

import re

from pipeline.parsing import _pylogging as compiled
from pipeline.parsing import header, severity, stacktrace, timestamps
from pipeline.parsing.registry import DIGITS, LETTERS, Claim, Parsed
from schemas.records import LogRecord

_FLAGS = re.ASCII | re.DOTALL
_LEVEL = r"(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET|TRACE|SUCCESS)"
LEVELS = frozenset(_LEVEL[1:-1].split("|"))
_NAME = r"[\w.<>-]+"

_TIME = re.compile(timestamps.ISO_PATTERN, re.ASCII)
# After the time (whose match takes one following space):
# `| INFO | name | msg`, `| name | INFO | msg`, `| INFO | msg`, loguru `| INFO | m:f:1 - msg`
_PIPE = re.compile(rf" ?\| *({_NAME}) *\| *(?:({_NAME}) *\| *)?(.*)", _FLAGS)
_LOGURU = re.compile(r"([\w.<>]+):([\w.<>]+):(\d+) - (.*)", _FLAGS)
# `- name - INFO - msg`, `- INFO - msg`
_DASH = re.compile(rf" ?- (?:({_NAME}?) - )?{_LEVEL} - (.*)", _FLAGS)
# `INFO name: msg`, `[INFO] name: msg`, `INFO msg`
_SPACE = re.compile(rf" ?\[?{_LEVEL}\]? +(?:({_NAME}): )?(.*)", _FLAGS)
# The logging cookbook's `%(asctime)s %(name)-12s %(levelname)-8s %(message)s`
_NAME_FIRST = re.compile(rf" ?({_NAME}) +{_LEVEL} +(.*)", _FLAGS)
# OpenStack's oslo.log `%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s
# [%(request_id)s %(user_identity)s] %(instance)s%(message)s` (the context `[-]` when none)
_PID_FIRST = re.compile(rf" ?(\d+) {_LEVEL} ({_NAME}) (.*)", _FLAGS)
_OSLO_CONTEXT = re.compile(r"\[(req-[\w-]+|-)(?: ([^\]]*))?\] ", re.ASCII)
_OSLO_INSTANCE = re.compile(r"\[instance: ([\w-]+)\] ", re.ASCII)
# basicConfig's default `%(levelname)s:%(name)s:%(message)s` and uvicorn's `INFO:     msg`
# (no time)
_BASIC = re.compile(rf"{_LEVEL}:(?:({_NAME}):| +)(.*)", _FLAGS)
# Flask `[time] INFO in module: msg` and gunicorn `[time] [pid] [INFO] msg`
_FLASK = re.compile(rf"\] {_LEVEL} in ({_NAME}): (.*)", _FLAGS)
_GUNICORN = re.compile(rf"\] \[(\d+)\] \[{_LEVEL}\] (.*)", _FLAGS)

_BASIC_PREFIXES = tuple(f"{level}:".encode() for level in LEVELS)

NAME = "python"


def _bracketed_time(line: bytes) -> bool:
    return line[1:2].isdigit()  # Flask, gunicorn: `[2024-…`


def _basic_prefix(line: bytes) -> bool:
    return line.startswith(_BASIC_PREFIXES)  # `LEVEL:`, no time


# The time, then a dash: `_dated` takes its `_DASH` branch, and when `_DASH` matches, java's
# layouts cannot (each needs a level word or `[` where `_DASH` has its `- `, or `- LEVEL +[`
# where it has `- name - ` or `- LEVEL - `). So these lines may come to python before java.
# Atomic, so that the time ends where `_TIME.match` ends it. A bytes pattern: no Python frame.
_DASH_AFTER_TIME = re.compile(
    rb"(?>" + timestamps.ISO_PATTERN.encode() + rb")(?:-(?!\|)| -)", re.ASCII
)

# Dated lines after java (see there) and before syslog, which would read `time LEVEL name: msg`
# as `time host tag: msg`; dated lines with a dash after the time before java (see above).
DETECT = (
    Claim(DIGITS, rank=15, guard=_DASH_AFTER_TIME.match),
    Claim(b"[", rank=30, guard=_bracketed_time),
    Claim(DIGITS, rank=30, guard=timestamps.leads_with_iso_date),
    Claim(bytes({prefix[0] for prefix in _BASIC_PREFIXES}), rank=30, guard=_basic_prefix),
    # `file.log <time> …` after java's claim with the same guard (tested once for both)
    Claim(LETTERS, rank=26, guard=header.file_prefix),
)


def parse(line: bytes) -> LogRecord | None:
    text = line.decode("utf-8", "replace")
    if text[:1] == "[":
        return _bracketed(text)
    # A comparison, not a call, for the usual line that starts with its time.
    start = 0 if "0" <= text[:1] <= "9" else header.after_file_prefix(text)
    if start == 0:
        return _dated(text, 0)
    if start > 0 and (record := _dated(text, start)) is not None:
        record.attributes["log.file.name"] = text[: start - 1]
        return record
    return _basic(text)


def parse_group(lines: list[bytes]) -> list[Parsed | None]:
    """`parse` of each line of the dash layout, as fields (see registry.Parsed), in C
    (_pylogging.c); None for the others, which `parse` reads."""
    return compiled.dash_group(lines)[0]


def _basic(text: str) -> LogRecord | None:
    m = _BASIC.match(text)
    return None if m is None else _record(0, m.group(1), m.group(2) or "", m.group(3))


def _dated(text: str, start: int) -> LogRecord | None:
    t = _TIME.match(text, start)
    if t is None:
        return None
    ns = timestamps.from_iso_match(t)
    if ns is None:
        return None
    # Python's default asctime has a comma before the milliseconds: the only hint that
    # `time LEVEL msg` comes from Python rather than anything else.
    comma = text[start + 19 : start + 20] == ","
    pos = t.end()
    follow = text[pos : pos + 2]
    if "|" in follow:
        m = _PIPE.match(text, pos)
        if m is None:
            return None
        first, second, message = m.groups()
        if first in LEVELS:
            level, name = first, second or ""
        elif second in LEVELS:
            level, name = second, first
        else:
            return None
        code = _LOGURU.match(message) if not name else None
        if code is None:
            return _record(ns, level, name, message)
        name, function, lineno, message = code.groups()
        record = _record(ns, level, name, message)
        record.attributes["code.function"] = function
        record.attributes["code.lineno"] = lineno
        return record
    if "-" in follow:
        m = _DASH.match(text, pos)
        if m is None:
            return None
        name, level, message = m.groups()
        return _record(ns, level, name or "", message)
    if follow[:1].isdigit() or follow[1:2].isdigit():
        m = _PID_FIRST.match(text, pos)
        return None if m is None else _oslo(ns, *m.groups())
    m = _SPACE.match(text, pos)
    if m is not None and (comma or m.group(2)):
        level, name, message = m.groups()
        return _record(ns, level, name or "", message)
    m = _NAME_FIRST.match(text, pos) if comma else None
    if m is None:
        return None
    name, level, message = m.groups()
    return _record(ns, level, name, message)


def _oslo(ns: int, pid: str, level: str, name: str, message: str) -> LogRecord:
    """oslo.log: the request context and instance are header fields, not the message."""
    attributes = {"process.pid": pid}
    m = _OSLO_CONTEXT.match(message)
    if m is not None:
        request, identity = m.groups()
        if request != "-":
            attributes["openstack.request_id"] = request
        if identity and identity.strip("- "):
            attributes["openstack.user_identity"] = identity
        message = message[m.end() :]
    m = _OSLO_INSTANCE.match(message)
    if m is not None:
        attributes["openstack.instance_id"] = m.group(1)
        message = message[m.end() :]
    record = _record(ns, level, name, message)
    record.attributes.update(attributes)
    return record


def _bracketed(text: str) -> LogRecord | None:
    t = _TIME.match(text, 1)
    if t is None:
        return None
    ns = timestamps.from_iso_match(t)
    if ns is None:
        return None
    m = _FLASK.match(text, t.end())
    if m is not None:
        return _record(ns, m.group(1), m.group(2), m.group(3))
    m = _GUNICORN.match(text, t.end())
    if m is None:
        return None
    record = _record(ns, m.group(2), "", m.group(3))
    record.attributes["process.pid"] = m.group(1)
    return record


def _record(ns: int, level: str, name: str, message: str) -> LogRecord:
    record = header.record(NAME, ns, level, message, name)
    stacktrace.attach(record, message)
    return record


compiled.configure({word: severity.from_level(word) for word in LEVELS})
