"""Detection: every golden line is claimed by its own format; forced formats; the registry."""

from __future__ import annotations

import pytest

from pipeline.parsing import PARSERS, parse
from tests.unit.parsing import golden

ALL = [
    pytest.param(fmt, case, id=f"{fmt}-{case['name']}")
    for fmt in PARSERS
    for case in golden.load(fmt)
]


def test_every_format_has_golden_lines():
    assert {path.stem for path in golden.FIXTURES.glob("*.toml")} == set(PARSERS)


@pytest.mark.parametrize(("fmt", "case"), ALL)
def test_golden_line_is_detected_as_its_format(fmt, case):
    golden.check(parse(golden.line(case)), case, fmt)


@pytest.mark.parametrize(("fmt", "case"), ALL)
def test_forcing_the_right_format_changes_nothing(fmt, case):
    line = golden.line(case)
    assert parse(line, fmt) == parse(line)


def test_forced_format_that_does_not_match_falls_back_to_detection_and_says_so():
    record = parse(b"level=info msg=hi", "json")
    assert record.format == "logfmt" and record.flags == ["format_mismatch"]


def test_unknown_forced_format_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="unknown format 'xml': one of json, "):
        parse(b"<a/>", "xml")


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        (b"[1, 2, 3]", "text"),
        (b"<not syslog>", "text"),
        (b"- - - [", "text"),
        (b"1.2.3.4 - - [not a time] x", "text"),
        (b"Mon morning standup", "text"),
        (b"a=1", "logfmt"),
        (b"2024-01-02", "text"),
        (b"", "text"),
    ],
)
def test_near_misses_fall_through_to_a_format_that_accepts_them(line, fmt):
    assert parse(line).format == fmt
