"""The C form of the access parser (pipeline/parsing/_access.c) gives, for every ASCII line,
what the Python code (`access._fields`, the definition and the record path's) gives: the same
fields, value for value, attribute order included, or the same refusal."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.bench import corpus
from pipeline.parsing import access
from pipeline.parsing.registry import Parsed
from tests.support import golden
from tests.support.leaks import LEAK_BYTES, traced_growth

DOCUMENTED = [golden.line(case) for case in golden.load("access")] + [
    p.values[1] for p in golden.every_refusal() if p.values[0] == "access"
]
REALWORLD = golden.real_world_lines()

# The parts of a line where access._LINE has choices: the optional quoted fields, the request
# time (digits, a fraction, too many of either) and anything after, in any arrangement.
TAIL_PARTS = [
    ' "-"',
    ' "https://example.com/?q=\\"x\\""',
    ' "Mozilla/5.0 (X11; Linux x86_64)"',
    ' "curl/8.4.0"',
    ' "10.0.0.1, 10.0.0.2"',
    " 0.250",
    " 250000",
    " 1234567890123456",
    " 123456789012345",
    " 1.1234567890",
    " 12.",
    " 1.2.3",
    " -",
    " ",
    " extra words",
    '"',
    "\\",
    "x",
    "\t",
    "\r",
]
HEADS = [
    '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    '192.0.2.7 id frank [02/Jan/2024:03:04:05.123 +0000] "POST /a?b=c HTTP/1.1" 502 -',
    'web-1 - - [31/Dec/2023:23:59:59 +0530] "\\x16\\x03\\"\\\\" - 0',
    '2001:db8::1 - - [01/Feb/2024:00:00:00 +0000] "-" 404 17',
]
# Characters that end or open a field, put anywhere in a line.
BREAKERS = [" ", "  ", "[", "]", '"', "\\", "\t", "-", "0", ".", "\x00", "\x7f"]


def python_fields(line: bytes) -> Parsed | None:
    parsed = access._fields(line)
    if parsed is None:
        return None
    ns, severity, body, attributes = parsed
    return (ns, severity, "", "", "", "", "", "", body, attributes, [])


def assert_same(lines: list[bytes]) -> int:
    """Each line's C fields equal the Python ones; the number of lines the C form took."""
    found, unsure = access.compiled.fields_group(lines)
    assert len(found) == len(lines)
    for i, (line, parsed) in enumerate(zip(lines, found, strict=True)):
        if i in unsure:
            assert parsed is None
            continue
        expected = python_fields(line)
        assert parsed == expected, line
        if expected is not None:
            assert list(parsed[9].items()) == list(expected[9].items()), line
            assert [type(v) for v in parsed] == [type(v) for v in expected], line
    return len(lines) - len(unsure)


def test_documented_real_world_and_bench_lines():
    records = corpus.build("single", 4000).records("logs.raw", int(time.time() * 1000))
    bench = [r.value.strip() for r in records]
    lines = DOCUMENTED + REALWORLD + bench
    # The C form takes every ASCII line of one line; the real-world set has a few others.
    taken = sum(line.isascii() and b"\n" not in line for line in lines)
    assert assert_same(lines) == taken > 0.99 * len(lines)
    accepted = [line for line in lines if python_fields(line) is not None]
    assert len(accepted) > 500


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(HEADS))
    text += "".join(draw(st.lists(st.sampled_from(TAIL_PARTS), max_size=6)))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(BREAKERS)) + text[at:]
    return text.encode()


@hypothesis_settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(lines())
def test_generated_lines(line):
    assert_same([line])


@hypothesis_settings(max_examples=500, deadline=None, database=None, derandomize=True)
@given(st.binary(max_size=120).map(lambda tail: HEADS[0].encode() + tail))
def test_any_bytes_after_a_line(line):
    assert_same([line])


def test_lines_it_does_not_take_are_left_to_python():
    lines = [
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /café HTTP/1.1" 200 1'.encode(),
        b'127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1\n',
        b'127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
    ]
    found, unsure = access.compiled.fields_group(lines)
    assert unsure == [0, 1] and found[:2] == [None, None] and found[2] is not None
    assert access.parse_group(lines) == [python_fields(line) for line in lines]


def test_parsing_leaks_no_memory():
    lines = DOCUMENTED * 20
    grown = traced_growth(lambda: access.compiled.fields_group(lines))
    assert grown < LEAK_BYTES, f"{grown} bytes more after 5 passes over {len(lines)} lines"


# Detection's guard, as the access module documents it: the C function answers as the regex.
CLIENT_DASH_BRACKET = re.compile(rb"[^ ]{1,63} - (?=[^\[]{0,76}\[)")
_GUARD_BYTES = st.sampled_from(list(b" -[a1.\n\t\xff"))


@given(
    st.lists(_GUARD_BYTES, max_size=160).map(bytes)
    | st.tuples(
        st.integers(0, 70), st.integers(0, 90), st.lists(_GUARD_BYTES, max_size=8).map(bytes)
    ).map(lambda t: b"c" * t[0] + b" - " + b"x" * t[1] + b"[" + t[2])
)
def test_the_detection_guard_answers_as_its_regex(line: bytes) -> None:
    assert access.compiled.client_dash_bracket(line) is bool(CLIENT_DASH_BRACKET.match(line))


def test_the_detection_guard_on_documented_and_real_world_lines() -> None:
    for line in DOCUMENTED + REALWORLD:
        assert access.compiled.client_dash_bracket(line) is bool(CLIENT_DASH_BRACKET.match(line))
