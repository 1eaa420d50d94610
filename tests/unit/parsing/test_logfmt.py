"""logfmt: quoting and escapes, JSON's key aliases, and prose that only looks like key=value."""

from __future__ import annotations

import pytest

from pipeline.parsing import logfmt, parse


@pytest.mark.parametrize(
    "line",
    [
        b"x=1 happened when the disk broke",  # bare words outnumber pairs: prose
        b'msg="unterminated quote',
        b'a=b"c',
        b"=value only",
        b"hello world",
    ],
)
def test_prose_and_broken_pairs_are_not_logfmt(line):
    assert logfmt.parse(line) is None
    assert parse(line).format == "text"


def test_duplicate_keys_keep_the_last_value():
    record = logfmt.parse(b"msg=a user=1 user=2")
    assert record is not None and record.attributes["user"] == "2"
