"""Detection over the registered formats: each is in the detection order and reached by its own
golden lines, and refuses the golden lines it must refuse; forced formats; lines that only look
like a format."""

from __future__ import annotations

import pytest

from pipeline.parsing import PARSERS, load, parse, registry
from tests.support import golden


def test_every_registered_format_has_golden_lines():
    assert golden.formats() == sorted(PARSERS)


def test_every_registered_format_is_in_the_detection_order():
    tried = {name for _first, names in registry.load().order() for name in names}
    assert tried == set(PARSERS)


@pytest.mark.parametrize(("fmt", "case"), golden.every_case())
def test_golden_line_parses_with_its_own_format(fmt, case):
    golden.check(PARSERS[fmt](golden.line(case)), case, fmt)


@pytest.mark.parametrize(("fmt", "line"), golden.every_refusal())
def test_refused_golden_line_is_refused_by_its_format(fmt, line):
    assert PARSERS[fmt](line) is None


@pytest.mark.parametrize(("fmt", "case"), golden.every_case())
def test_golden_line_is_detected_as_its_format(fmt, case):
    golden.check(parse(golden.line(case)), case, fmt)


@pytest.mark.parametrize(("fmt", "case"), golden.every_case())
def test_forcing_the_right_format_changes_nothing(fmt, case):
    line = golden.line(case)
    assert parse(line, fmt) == parse(line)


def test_forced_format_that_does_not_match_falls_back_to_detection_and_says_so():
    record = parse(b"level=info msg=hi", "json")
    assert record.format == "logfmt" and record.flags == ["format_mismatch"]


def test_unknown_forced_format_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="unknown format 'xml': one of access, apache_error, "):
        parse(b"<a/>", "xml")


def test_java_is_tried_before_python_on_lines_both_accept():
    line = b"2024-01-02 03:04:05,123 ERROR [main] com.example.Foo:42 - boom"
    assert PARSERS["python"](line) is not None
    assert parse(line).format == "java"


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


def test_a_guard_admits_every_line_its_format_accepts():
    # Guards only spare a parser lines it would refuse: over every documented and real-world
    # line, a format that accepts a line has a claim on its first byte whose guard admits it.
    formats = load()
    lines = golden.every_line() + golden.real_world_lines()
    checked = 0
    for fmt in formats._formats.values():
        if isinstance(fmt.detect, str):
            continue
        for line in lines:
            first = line[0] if line else 0
            claims = [claim for claim in fmt.detect if first in claim.first]
            if not claims or fmt.parse(line) is None:
                continue
            checked += 1
            assert any(c.guard is None or c.guard(line) for c in claims), (fmt.name, line)
    assert checked > 1000
