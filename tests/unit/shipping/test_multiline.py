"""Joining continuation lines onto the line that started the record."""

from __future__ import annotations

import re

from pipeline.shipping.multiline import Joiner, Record

START = re.compile(rb"^\d{4}-\d{2}-\d{2}")


def feed_all(joiner: Joiner, lines: list[bytes]) -> list[Record]:
    out: list[Record] = []
    end = 0
    for line in lines:
        end += len(line) + 1
        out.extend(joiner.feed(line, end))
    return out


def test_traceback_lines_join_the_line_before_them():
    lines = [
        b"2026-01-02 03:04:05,000 - app - INFO - started",
        b"2026-01-02 03:04:06,000 - app - ERROR - failed",
        b"Traceback (most recent call last):",
        b'  File "app.py", line 3, in run',
        b"ValueError: bad",
        b"2026-01-02 03:04:07,000 - app - INFO - recovered",
    ]
    joiner = Joiner(START, max_bytes=10_000)
    done = feed_all(joiner, lines)
    assert [r.text for r in done] == [lines[0], b"\n".join(lines[1:5])]
    assert done[1].lines == 4
    # The last record waits for continuation lines until it is flushed.
    assert joiner.pending
    (last,) = joiner.flush()
    assert last.text == lines[5]
    assert last.end == sum(len(line) + 1 for line in lines)


def test_a_record_ends_at_the_offset_past_its_last_line():
    joiner = Joiner(START, max_bytes=10_000)
    first = feed_all(joiner, [b"2026-01-02 a", b"  more", b"2026-01-02 b"])
    assert first == [Record(b"2026-01-02 a\n  more", len(b"2026-01-02 a\n  more\n"), 2)]


def test_without_a_pattern_every_line_is_a_record_and_blank_lines_are_none():
    joiner = Joiner(None, max_bytes=10_000)
    done = feed_all(joiner, [b"one", b"", b"two  "])
    assert [r.text for r in done] == [b"one", b"two"]
    assert not joiner.pending


def test_leading_continuation_lines_form_their_own_record():
    joiner = Joiner(START, max_bytes=10_000)
    assert feed_all(joiner, [b"  orphan", b"2026-01-02 x"])[0].text == b"  orphan"


def test_a_record_is_cut_at_max_bytes():
    joiner = Joiner(START, max_bytes=25)
    done = feed_all(joiner, [b"2026-01-02 start", b"continued line", b"and more"])
    assert [r.text for r in done] == [b"2026-01-02 start"]
    assert joiner.flush()[0].text == b"continued line\nand more"
