"""Python tracebacks and Java stack traces inside a message → OTel exception.* attributes."""

from __future__ import annotations

import re

from schemas.records import LogRecord, Severity

_PYTHON_START = "Traceback (most recent call last):"
# The last unindented line of a traceback: `ValueError: msg`, `pkg.mod.Error`, `KeyboardInterrupt`.
_PYTHON_EXCEPTION = re.compile(r"([A-Za-z_][\w.]*)(?:: (.*))?$", re.ASCII)
_PYTHON_CONTEXT = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)
# `java.lang.IllegalStateException: msg` (a dotted class name) above `at` frames; an undotted
# `…Error`/`…Exception` too, which also covers Node.js (`TypeError: x` + `    at f (a.js:1:2)`).
_JAVA_EXCEPTION = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?"
    r"((?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*|[A-Za-z_$][\w$]*(?:Error|Exception))"
    r"(?:: ([^\r]*))?\r?$",
    re.ASCII,
)
_JAVA_FRAME = re.compile(r"\n[ \t]+at ", re.ASCII)
_JAVA_LOOKBACK = 50


def attach(record: LogRecord, message: str) -> None:
    """Set body and, when the message carries a traceback, the exception.* attributes.

    The body is the message's first line (the log message itself), or `Type: message` when
    the message starts with the trace (a bare Python traceback, an empty first line); the
    whole trace is kept in exception.stacktrace. Without a trace the body is the message.
    """
    record.body = message
    if "\n" not in message:
        return
    found = _python(message) or _java(message)
    if found is None:
        return
    start, kind, text = found
    first = message[: message.find("\n")].rstrip("\r")
    if first and not first.startswith(_PYTHON_START):
        record.body = first
    else:
        record.body = f"{kind}: {text}" if text else kind
    attributes = record.attributes
    attributes["exception.type"] = kind
    attributes["exception.message"] = text
    attributes["exception.stacktrace"] = message[start:]
    if record.severity is Severity.UNSPECIFIED:
        record.severity = Severity.ERROR


def _python(message: str) -> tuple[int, str, str] | None:
    start = message.find(_PYTHON_START)
    if start < 0:
        return None
    for line in reversed(message[start:].splitlines()):
        if not line or line[0] in " \t" or line.startswith(_PYTHON_CONTEXT):
            continue
        m = _PYTHON_EXCEPTION.match(line)
        if m is None:
            return None
        return start, m.group(1), m.group(2) or ""
    return None


def _java(message: str) -> tuple[int, str, str] | None:
    frame = _JAVA_FRAME.search(message)
    if frame is None:
        return None
    # Walk back from the first frame to the line naming the class: usually the one right
    # above, a few more when the exception message has several lines.
    end = frame.start()
    for _ in range(_JAVA_LOOKBACK):
        begin = message.rfind("\n", 0, end) + 1
        m = _JAVA_EXCEPTION.match(message, begin, end)
        if m is not None:
            return begin, m.group(1), m.group(2) or ""
        if begin == 0:
            return None
        end = begin - 1
    return None
