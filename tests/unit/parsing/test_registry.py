"""The registry's detection with stand-in formats: rank order, guards, refusal flags, fallback."""

from __future__ import annotations

import types

import pytest

from pipeline.parsing.registry import DIGITS, FALLBACK, Claim, Format, Registry
from schemas.records import LogRecord


def accepting(name: str, *, unless: bytes = b"\x00"):
    """A parser that takes every line not containing `unless`, and records that it was asked."""
    asked: list[bytes] = []

    def parse(line: bytes) -> LogRecord | None:
        asked.append(line)
        return None if unless in line else LogRecord(body="", format=name)

    parse.asked = asked  # type: ignore[attr-defined]
    return parse


@pytest.fixture
def formats() -> Registry:
    found = Registry()
    found.add(Format("plain", accepting("plain"), FALLBACK))
    return found


def test_lower_rank_first_then_name(formats):
    formats.add(Format("late", accepting("late"), (Claim(DIGITS, rank=20),)))
    formats.add(Format("b_early", accepting("b_early"), (Claim(DIGITS, rank=10),)))
    formats.add(Format("a_early", accepting("a_early"), (Claim(DIGITS, rank=10),)))
    assert formats.detect(b"1").format == "a_early"
    assert dict(formats.order())[b"0123456789"] == ["a_early", "b_early", "late", "plain"]


def test_a_format_is_offered_only_lines_its_claims_and_guards_admit(formats):
    parse = accepting("dated")
    formats.add(Format("dated", parse, (Claim(DIGITS, rank=10, guard=lambda ln: ln[4:5] == b"-"),)))
    assert formats.detect(b"2024-01-02 x").format == "dated"
    assert formats.detect(b"2024/01/02 x").format == "plain"
    assert formats.detect(b"x 2024-01-02").format == "plain"
    assert parse.asked == [b"2024-01-02 x"]


def test_a_refusal_passes_the_line_on_in_order(formats):
    formats.add(Format("picky", accepting("picky", unless=b"!"), (Claim(b"a", rank=10),)))
    formats.add(Format("easy", accepting("easy"), (Claim(b"a", rank=20),)))
    assert formats.detect(b"a!").format == "easy"


def test_a_refused_flag_ends_detection_as_flagged_fallback(formats):
    formats.add(
        Format("obj", accepting("obj", unless=b"!"), (Claim(b"{", 10, None, "obj_invalid"),))
    )
    formats.add(Format("easy", accepting("easy"), (Claim(b"{", rank=20),)))
    record = formats.detect(b"{!")
    assert (record.format, record.flags) == ("plain", ["obj_invalid"])


def test_an_empty_line_is_offered_as_if_it_started_with_nul(formats):
    formats.add(Format("nul", accepting("nul"), (Claim(b"\x00", rank=10),)))
    assert formats.detect(b"").format == "nul"


def test_names_are_unique_and_there_is_one_fallback(formats):
    with pytest.raises(ValueError, match="registered twice"):
        formats.add(Format("plain", accepting("plain"), ()))
    with pytest.raises(ValueError, match="both claim to be the fallback"):
        formats.add(Format("other", accepting("other"), FALLBACK))


def test_parsers_are_listed_by_name(formats):
    formats.add(Format("zeta", accepting("zeta"), ()))
    formats.add(Format("alpha", accepting("alpha"), ()))
    assert list(formats.parsers) == ["alpha", "plain", "zeta"]


def test_modules_register_by_name_parse_and_detect(formats):
    helper = types.ModuleType("helper")
    formats.add_module(helper)  # no NAME: not a format
    module = types.ModuleType("csvish")
    module.NAME, module.parse, module.DETECT = "csvish", accepting("csvish"), (Claim(b"c", 10),)
    formats.add_module(module)
    assert formats.detect(b"c,1,2").format == "csvish"
    broken = types.ModuleType("broken")
    broken.NAME = "broken"
    with pytest.raises(TypeError, match="broken: a format module exposes NAME"):
        formats.add_module(broken)
