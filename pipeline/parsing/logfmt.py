"""logfmt (`key=value k2="quoted \\" value"`): JSON's key aliases, the rest attributes."""

from __future__ import annotations

import re

from pipeline.parsing import fields
from pipeline.parsing.registry import LETTERS, Claim, Parsed
from schemas.records import LogRecord

# One token per match: key=value (value quoted with backslash escapes, or bare), a bare key,
# or anything else (group 4) which makes the line not logfmt.
_TOKEN = re.compile(r'([^\s="]+)(=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*))?|(\S+)', re.ASCII)
_START = re.compile(rb"[A-Za-z_@][\w.@/-]*=", re.ASCII)
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}

NAME = "logfmt"
DETECT = (Claim(LETTERS + b"_@", rank=20, guard=_START.match),)


def parse(line: bytes) -> LogRecord | None:
    """A record when the line starts with key=value and every token is a key=value or bare key.

    Bare keys (value "true" in the logfmt convention) are accepted only while they do not
    outnumber the pairs, so prose with one `a=b` in it stays plain text.
    """
    items = _items(line)
    return None if items is None else fields.to_record(items, NAME, line)


def parse_group(lines: list[bytes]) -> list[Parsed | None]:
    """`parse` of each line, as fields (see registry.Parsed): in C (fields.compiled) but for
    the lines it leaves to `_items` (not ASCII)."""
    out, unsure = fields.compiled.logfmt_group(lines)
    for i in unsure:
        items = _items(lines[i])
        out[i] = None if items is None else fields.compiled.to_fields(items, lines[i])
    return out


def _items(line: bytes) -> dict[str, object] | None:
    if _START.match(line) is None:
        return None
    items: dict[str, object] = {}
    bare = 0
    for key, assignment, value, junk in _TOKEN.findall(line.decode("utf-8", "replace")):
        if junk:
            return None
        if not assignment:
            items[key] = "true"
            bare += 1
        elif value[:1] == '"':
            value = value[1:-1]
            items[key] = _ESCAPE.sub(_unescape, value) if "\\" in value else value
        else:
            items[key] = value
    if bare * 2 > len(items):
        return None
    return items


def _unescape(m: re.Match[str]) -> str:
    char = m.group(1)
    return _ESCAPES.get(char, char)
