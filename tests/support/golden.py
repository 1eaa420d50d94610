"""Golden cases of the parsers: tests/fixtures/parsing/<format>.toml, one [[case]] per line
and the fields its record must have, and `refused`, lines the format's parser must refuse;
and the real-world lines the parsers are checked on beside them."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path
from time import gmtime, strftime
from typing import Any

import pytest

from pipeline.bench import realworld
from schemas.records import LogRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parsing"
_FRACTION = re.compile(r"\.(\d+)")
_FIELDS = ("body", "level", "service", "host", "logger", "trace_id", "span_id")


def _document(fmt: str) -> dict[str, Any]:
    with (FIXTURES / f"{fmt}.toml").open("rb") as f:
        return tomllib.load(f)


def load(fmt: str) -> list[dict[str, Any]]:
    """The cases of one format's golden file."""
    return list(_document(fmt)["case"])


def formats() -> list[str]:
    """The formats that have a golden file."""
    return sorted(path.stem for path in FIXTURES.glob("*.toml"))


def every_case() -> list[Any]:
    """pytest params (format, case) of every golden file."""
    return [
        pytest.param(fmt, case, id=f"{fmt}-{case['name']}")
        for fmt in formats()
        for case in load(fmt)
    ]


def every_refusal() -> list[Any]:
    """pytest params (format, line) of the lines each golden file says its parser refuses."""
    return [
        pytest.param(fmt, text.encode(), id=f"{fmt}-refused-{i}")
        for fmt in formats()
        for i, text in enumerate(_document(fmt).get("refused", ()))
    ]


def line(case: dict[str, Any]) -> bytes:
    return case["line"].encode()


def every_line() -> list[bytes]:
    """The line of every golden case of every format."""
    return [line(case) for fmt in formats() for case in load(fmt)]


def real_world_lines() -> list[bytes]:
    """Others' logs, labelled (pipeline/bench/realworld.py): every line."""
    return [row.line.encode() for rows in realworld.load().values() for row in rows]


def check(record: LogRecord | None, case: dict[str, Any], fmt: str) -> None:
    """The record has the case's format and every field the case names."""
    assert record is not None, f"{fmt} parser refused {case['line']!r}"
    assert record.format == fmt
    for name in _FIELDS:
        if name in case:
            assert getattr(record, name) == case[name], name
    if "severity" in case:
        assert record.severity.name == case["severity"]
    if "timestamp" in case:
        assert record.timestamp_ns == iso_ns(case["timestamp"])
    if "month_day_time" in case:  # RFC 3164 has no year: the parser picks it from the clock
        assert (
            strftime("%m-%d %H:%M:%S", gmtime(record.timestamp_ns // 10**9))
            == case["month_day_time"]
        )
    for key, value in case.get("attributes", {}).items():
        assert record.attributes.get(key) == value, key
    for key in case.get("absent", ()):
        assert key not in record.attributes, key
    assert record.flags == case.get("flags", [])


def iso_ns(text: str) -> int:
    """UTC ns for an ISO 8601 string via datetime (not the code under test), any fraction."""
    fraction = _FRACTION.search(text)
    whole = _FRACTION.sub("", text) if fraction else text
    parsed = datetime.fromisoformat(whole)
    assert parsed.tzinfo is not None, f"write golden times with a zone: {text}"
    seconds = int(parsed.timestamp())
    return seconds * 10**9 + (int(fraction.group(1).ljust(9, "0")) if fraction else 0)
