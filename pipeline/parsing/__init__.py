"""Parsing: the bytes of one event in; a LogRecord out (format, time, severity, fields).

A module per format, each registered by what it exposes (`registry` says what that is);
detection offers a line to the formats that claim its first bytes, in rank order, and plain
text takes what none accepts. `severity` and `timestamps` turn any producer's level words and
times into OpenTelemetry severities and UTC nanoseconds; `fields`, `header` and `stacktrace`
are shared by several formats. `user_formats/` compiles the formats of a YAML file into parsers
of the same shape, registered at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.parsing import registry

if TYPE_CHECKING:
    PARSERS = registry.FORMATS.parsers
    detect = registry.FORMATS.detect
    parse = registry.FORMATS.parse


def load() -> registry.Registry:
    """The registry, every format registered now (start-up) rather than on first use of
    PARSERS, detect or parse."""
    formats = registry.load()
    if "parse" not in globals():  # once: a test may have replaced parse since
        globals().update(PARSERS=formats.parsers, detect=formats.detect, parse=formats.parse)
    return formats


def __getattr__(name: str) -> Any:
    # The format modules are imported on first use rather than with the package, so that code
    # needing only `severity` or `timestamps` (retention, so every `logweir` command) does not
    # pay for them: ua-parser's tables alone take ~0.25 s to build.
    if name not in ("PARSERS", "detect", "parse"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    load()
    return globals()[name]
