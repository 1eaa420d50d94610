"""Property tests: no input makes parsing raise, and every result names a registered format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.parsing import PARSERS, parse
from schemas.records import LogRecord
from tests.support import golden

SAMPLES = [golden.line(case) for fmt in PARSERS for case in golden.load(fmt)]
# Bytes that steer detection and the regexes: prefixes, separators, quotes, brackets.
INTERESTING = st.sampled_from(
    [bytes([b]) for b in b'{}<>[]"\\=:|#*1 \t\n\x00\xff']
    + [b" - ", b"\r\n", b"\xef\xbb\xbf", b"2024", b"ERROR", b"INFO:", b"\tat x.Y(Z.java:1)"]
    + [b"Traceback (most recent call last):\n"]
)
FRAGMENTS = st.lists(st.one_of(INTERESTING, st.binary(max_size=8)), max_size=40).map(b"".join)


def check(line: bytes) -> None:
    for forced in (None, *PARSERS):
        record = parse(line, forced)
        assert isinstance(record, LogRecord)
        assert record.format in PARSERS
        assert isinstance(record.body, str)
        assert record.timestamp_ns >= 0
        assert all(isinstance(v, str) for v in record.attributes.values())


@given(st.binary(max_size=400))
def test_arbitrary_bytes(line):
    check(line)


@given(FRAGMENTS)
def test_format_like_fragments(line):
    check(line)


@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(min_size=1, max_size=6))
def test_golden_lines_with_bytes_overwritten(sample, where, junk):
    at = where % len(sample)
    check(sample[:at] + junk + sample[at + len(junk) :])


@given(st.sampled_from(SAMPLES), st.integers(min_value=0))
def test_truncated_golden_lines(sample, where):
    check(sample[: where % len(sample)])


@given(st.text(max_size=200))
def test_text_with_invalid_utf8_appended(text):
    check(text.encode("utf-8", "surrogatepass") + b"\xc3\x28\xa0\xa1")


@pytest.mark.parametrize("depth", [10, 500, 1500])
def test_deeply_nested_json(depth):
    check(b'{"a":' * depth + b"1" + b"}" * depth)
    check(b"[" * depth + b"]" * depth)


@pytest.mark.parametrize(
    "line",
    [
        b"x" * 1_000_000,
        b"a=" * 500_000,
        b"{" * 1_000_000,
        b'{"msg": "' + b"\\" * 1_000_000 + b'"}',
        b"<13>Jan  1 00:00:00 h t: " + b"[" * 1_000_000,
        b'1.2.3.4 - - [02/Jan/2024:03:04:05 +0000] "' + b"\\" * 999_999,
        b"2024-01-02 03:04:05,123 - " + b"- " * 500_000,
        b"Traceback (most recent call last):\n" + b"  File x\n" * 100_000 + b"E: x",
        b"x\n" + b"a.b.c: x\n" * 100_000 + b"\tat X",
        b"\x00" * 1_000_000,
    ],
    ids=lambda line: repr(line[:16]),
)
def test_one_megabyte_lines(line):
    check(line)
