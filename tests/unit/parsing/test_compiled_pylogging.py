"""The C form of Python logging's dash layout (pipeline/parsing/_pylogging.c) gives, for every
ASCII line, what pylogging.parse (the definition and the record path's) gives, or leaves the
line to it; and the claim that offers these lines to python before java changes no line's
record."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline import parsing
from pipeline.bench import corpus
from pipeline.ingest.columnar import _record_fields
from pipeline.parsing import pylogging
from pipeline.parsing.registry import Format, Registry
from pipeline.plugins import import_all
from tests.support import golden
from tests.support.leaks import LEAK_BYTES, traced_growth

DOCUMENTED = golden.every_line() + [p.values[1] for p in golden.every_refusal()]
REALWORLD = golden.real_world_lines()

# The parts of a dated line where the layouts differ: the time (each optional part of
# ISO_PATTERN, right and wrong), what follows it, the name, the level, the separators.
TIMES = [
    "2026-11-30 14:22:22,636",
    "2026-11-30 14:22:22.636",
    "2026-11-30T14:22:22",
    "2026-11-30t14:22:22.123456789123",
    "2026-11-30 14:22:22,636Z",
    "2026-11-30 14:22:22,636 +05:30",
    "2026-11-30 14:22:22 -0800",
    "2026-11-30 14:22:22-08",
    "2026-11-30 14:22:22 +24:00",
    "2026-02-30 14:22:22,636",
    "2026-11-30 25:22:22,636",
    "2026-11-30 14:22:60",
    "0000-01-01 00:00:00",
    "1969-12-31 23:59:59",
    "2026-11-30 14:22",
]
FOLLOWS = [" - ", " -", "- ", "-", " | ", "  - ", " ", "\t- ", " -- ", " [", " x- ", ""]
NAMES = ["root", "auth.worker", "a-b", "app<main>", "INFO", "info", "Warn", "x:y", "-", "", "a b"]
LEVELS = ["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "NOTSET", "TRACE",
          "SUCCESS", "warning", "SEVERE", "INFOS", "WARNINGS"]  # fmt: skip
SEPARATORS = [" - ", " -", "- ", " [main] ", " ", ": ", " | "]
MESSAGES = ["job 9968 done", "", "a - b - c", "x\ry", "[thread:Foo@12] - msg", "| INFO | m"]


def python_fields(line: bytes) -> tuple[object, ...] | None:
    record = pylogging.parse(line)
    return None if record is None else _record_fields(record)[:11]


def assert_same(lines: list[bytes]) -> int:
    """Each line the C form reads has Python's fields; the number it read."""
    found, unsure = pylogging.compiled.dash_group(lines)
    assert len(found) == len(lines)
    read = 0
    for i, (line, parsed) in enumerate(zip(lines, found, strict=True)):
        if i in unsure:
            assert parsed is None
            continue
        expected = python_fields(line)
        if parsed is None:
            # Not the dash layout (pylogging.parse reads it): the claim's lines python accepts
            # are all read here.
            assert expected is None or not pylogging._DASH_AFTER_TIME.match(line), line
            continue
        read += 1
        assert parsed == expected, line
        assert [type(v) for v in parsed] == [type(v) for v in expected], line
    return read


def _without_dash_claim() -> Registry:
    """The registry as it was before the dash claim: python offered dated lines after java."""
    registry = Registry()
    for module in import_all("pipeline.parsing"):
        if module is pylogging:
            claims = tuple(
                c for c in pylogging.DETECT if c.guard != pylogging._DASH_AFTER_TIME.match
            )
            assert len(claims) == len(pylogging.DETECT) - 1
            registry.add(Format(pylogging.NAME, pylogging.parse, claims, None))
        else:
            registry.add_module(module)
    return registry


BEFORE = _without_dash_claim()


def assert_same_detection(lines: list[bytes]) -> None:
    for line in lines:
        assert parsing.parse(line) == BEFORE.parse(line), line


def test_documented_real_world_and_bench_lines():
    records = corpus.build("single", 4000).records("logs.raw", int(time.time() * 1000))
    bench = [r.value.strip() for r in records]
    lines = DOCUMENTED + REALWORLD + bench
    dash = [
        line
        for line in lines
        if line.isascii() and b"\n" not in line and pylogging._DASH_AFTER_TIME.match(line)
    ]
    # Every one-line dash-layout line python accepts is read in C.
    accepted = [line for line in dash if python_fields(line) is not None]
    assert assert_same(lines) == len(accepted) > 500
    assert_same_detection(lines)


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(TIMES)) + draw(st.sampled_from(FOLLOWS))
    if draw(st.booleans()):
        text += draw(st.sampled_from(NAMES)) + draw(st.sampled_from(SEPARATORS))
    text += draw(st.sampled_from(LEVELS)) + draw(st.sampled_from(SEPARATORS))
    text += draw(st.sampled_from(MESSAGES))
    return text.encode()


@hypothesis_settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(lines())
def test_generated_lines(line):
    assert_same([line])
    assert_same_detection([line])


@hypothesis_settings(max_examples=500, deadline=None, database=None, derandomize=True)
@given(st.binary(max_size=40).map(lambda tail: b"2026-11-30 14:22:22,636 - a - INFO -" + tail))
def test_any_bytes_after_a_line(line):
    assert_same([line])
    assert_same_detection([line])


def test_lines_it_does_not_read_are_left_to_python():
    lines = [
        "2026-11-30 14:22:22,636 - café - INFO - m".encode(),
        b"2026-11-30 14:22:22,636 - a - ERROR - boom\nTraceback (most recent call last):",
        b"2026-11-30 14:22:22,636 | INFO | a | m",
        b"2026-11-30 14:22:22,636 - a - INFO - m",
    ]
    found, unsure = pylogging.compiled.dash_group(lines)
    assert unsure == [0, 1] and found[:3] == [None, None, None]
    assert found[3] == python_fields(lines[3]) and found[3] is not None
    assert pylogging.parse_group(lines) == found


def test_parsing_leaks_no_memory():
    lines = [line for line in DOCUMENTED if line[:1].isdigit()] * 20
    grown = traced_growth(lambda: pylogging.compiled.dash_group(lines))
    assert grown < LEAK_BYTES, f"{grown} bytes more after 5 passes over {len(lines)} lines"
