"""Joins continuation lines (tracebacks, wrapped messages) onto the line that started a record."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """One event read from a file; `end` is the file offset just past its last line."""

    text: bytes
    end: int
    lines: int


class Joiner:
    """Lines matching `start` begin a record; other lines continue the one before.

    With no pattern every line is a record. A record also ends when it reaches `max_bytes`,
    so a file that never matches cannot build one without limit.
    """

    def __init__(self, start: re.Pattern[bytes] | None, max_bytes: int) -> None:
        self.start = start
        self.max_bytes = max_bytes
        self._lines: list[bytes] = []
        self._size = 0
        self._end = 0

    @property
    def pending(self) -> bool:
        return bool(self._lines)

    def feed(self, line: bytes, end: int) -> list[Record]:
        """Take one line (without its newline) ending at file offset `end`; return finished ones."""
        done: list[Record] = []
        if self.start is None or self.start.search(line) or self._size + len(line) > self.max_bytes:
            done.extend(self.flush())
        if self._lines or line.strip():  # blank lines between records are not records
            self._lines.append(line)
            self._size += len(line) + 1
        self._end = end
        if self.start is None:
            done.extend(self.flush())
        return done

    def flush(self) -> list[Record]:
        """The pending record, if any (called when the file went quiet or is done)."""
        if not self._lines:
            return []
        text = b"\n".join(self._lines).rstrip()
        record = Record(text, self._end, len(self._lines))
        self._lines, self._size = [], 0
        return [record] if text else []
