"""Grok: `%{SYNTAX:semantic}` references to named regexes, expanded into one Python regex.

The syntax is Logstash's (`%{SYNTAX}`, `%{SYNTAX:semantic}`, `%{SYNTAX:semantic:type}`, the
semantic also written `[a][b]` for `a.b`) and its library's names and meanings, rewritten
where Logstash's own definitions can backtrack catastrophically (URIPROTO's nested repeat,
UNIXPATH's POSIX class) or use Oniguruma-only syntax. Named groups may also be written as in
Oniguruma/Fluent Bit (`(?<name>…)`) or Python (`(?P<name>…)`), and a name may hold dots
(`client.address`): every named group becomes an internal `g<N>` group, its name kept aside, so
that one name may appear in several alternatives (`(?:%{SYSLOGTIMESTAMP:time}|…:time})`).
The library of pattern names is `grok_library`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.parsing.user_formats.grok_library import LIBRARY

# Logstash's conversion suffixes. LogAttributes is Map(String, String): a value is stored as
# written; the suffix is accepted so that patterns copied from Logstash keep working.
TYPES = frozenset({"int", "float", "string"})
MAX_DEPTH = 32  # references within references: far more than any library needs

_REFERENCE_SPEC = re.compile(r"([A-Za-z0-9_]+)(?::([^:]*))?(?::([^:]*))?")
_SEMANTIC = re.compile(r"[A-Za-z_@][\w.@-]*")
_BRACKETED = re.compile(r"(?:\[[^\[\]]+\])+")
# What the rewriting pass looks at, in order: grok references, named groups (Oniguruma
# `(?<n>`, Python `(?P<n>`), back-references to them, escapes, character classes (skipped
# whole: `(` and `%{` mean nothing inside them).
_TOKEN = re.compile(
    r"(?P<ref>%\{[^{}]*\})"
    r"|\(\?P?<(?P<name>[^>=!][^>]*)>"
    r"|\(\?P=(?P<backref>[^)]*)\)|\\k<(?P<kref>[^>]*)>"
    r"|(?P<escape>\\.)"
    r"|(?P<cls>\[\^?\]?(?:\\.|\[:[a-z]+:\]|[^\]\\])*\])",
    re.DOTALL,
)
# POSIX bracket classes (Oniguruma, Fluent Bit) → Python class contents.
_POSIX = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "lower": "a-z",
    "upper": "A-Z",
    "space": r"\s",
    "blank": r" \t",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}
_POSIX_CLASS = re.compile(r"\[:([a-z]+):\]")


class GrokError(ValueError):
    """A pattern that cannot be expanded; `position` is where in the user's pattern."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass
class Expansion:
    """The expanded regex, the name of each internal group `g<N>` (index N), and where each
    piece of the regex came from: (start in the regex, start in the user's pattern, the
    reference it expands or "")."""

    regex: str = ""
    names: list[str] = field(default_factory=list)
    origins: list[tuple[int, int, str]] = field(default_factory=list)

    def origin(self, position: int) -> tuple[int, str]:
        """Where a position of the regex came from: (position in the user's pattern, the
        reference it is inside of, or "")."""
        found = (0, 0, "")
        for origin in self.origins:
            if origin[0] > position:
                break
            found = origin
        start, source, reference = found
        return (source, reference) if reference else (source + position - start, "")


def semantic_name(semantic: str) -> str | None:
    """`a.b`, `[a][b]` → `a.b`; None for a name that cannot be a field."""
    if _BRACKETED.fullmatch(semantic):
        semantic = semantic[1:-1].replace("][", ".")
    return semantic if _SEMANTIC.fullmatch(semantic) else None


def suggest(name: str, choices: Mapping[str, object] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]}?)" if close else ""


def expand(pattern: str, custom: Mapping[str, str] | None = None) -> Expansion:
    """The regex for a grok (or plain named-group) pattern; GrokError for an unknown pattern
    name, a reference cycle, or a field name that cannot be one."""
    definitions = {**LIBRARY, **(custom or {})}
    result = Expansion()
    pieces: list[str] = []
    length = 0

    def emit(text: str, source: int, reference: str) -> None:
        nonlocal length
        result.origins.append((length, source, reference))
        pieces.append(text)
        length += len(text)

    def walk(text: str, source: int, reference: str, stack: tuple[str, ...]) -> None:
        # `source` is where `text` starts in the user's pattern when reference is "", else
        # the position of the outermost reference being expanded.
        pos = 0
        for m in _TOKEN.finditer(text):
            if m.start() > pos:
                emit(text[pos : m.start()], source + pos if not reference else source, reference)
            here = source + m.start() if not reference else source
            kind = m.lastgroup
            if kind == "ref":
                spec = _REFERENCE_SPEC.fullmatch(m.group()[2:-1])
                if spec is None:
                    raise GrokError(
                        f"{m.group()} is not %{{NAME}}, %{{NAME:field}} or %{{NAME:field:type}}",
                        here,
                    )
                name, semantic, kind_of = spec.groups()
                if name not in definitions:
                    raise GrokError(
                        f"unknown grok pattern %{{{name}}}{suggest(name, definitions)}", here
                    )
                if name in stack:
                    chain = " → ".join((*stack[stack.index(name) :], name))
                    raise GrokError(f"grok pattern {name} refers to itself: {chain}", here)
                if len(stack) >= MAX_DEPTH:
                    raise GrokError(f"grok references nested deeper than {MAX_DEPTH}", here)
                if kind_of is not None and kind_of not in TYPES:
                    raise GrokError(
                        f"{m.group()}: type {kind_of!r} is not one of int, float, string", here
                    )
                inner_reference = reference or m.group()
                if semantic:
                    field_name = semantic_name(semantic)
                    if field_name is None:
                        raise GrokError(
                            f"{m.group()}: {semantic!r} is not a field name (letters, digits, "
                            "_ . @ -, or [a][b])",
                            here,
                        )
                    emit(_open_group(result, field_name), here, inner_reference)
                    walk(definitions[name], here, inner_reference, (*stack, name))
                    emit(")", here, inner_reference)
                else:
                    emit("(?:", here, inner_reference)
                    walk(definitions[name], here, inner_reference, (*stack, name))
                    emit(")", here, inner_reference)
            elif m.group("name") is not None:
                field_name = semantic_name(m.group("name"))
                if field_name is None:
                    raise GrokError(f"{m.group()}: {m.group('name')!r} is not a group name", here)
                emit(_open_group(result, field_name), here, reference)
            elif kind in ("backref", "kref"):
                target = m.group(kind)
                if target not in result.names:
                    raise GrokError(f"{m.group()} refers to no earlier group {target!r}", here)
                emit(f"(?P=g{result.names.index(target)})", here, reference)
            elif kind == "cls":
                emit(_POSIX_CLASS.sub(_posix, m.group()), here, reference)
            else:  # an escape; Oniguruma's end of string `\z` is Python's `\Z`
                emit("\\Z" if m.group() == "\\z" else m.group(), here, reference)
            pos = m.end()
        if pos < len(text):
            emit(text[pos:], source + pos if not reference else source, reference)

    walk(pattern, 0, "", ())
    result.regex = "".join(pieces)
    return result


def _open_group(result: Expansion, name: str) -> str:
    result.names.append(name)
    return f"(?P<g{len(result.names) - 1}>"


def _posix(m: re.Match[str]) -> str:
    return _POSIX.get(m.group(1), m.group())


def references(pattern: str) -> list[str]:
    """The pattern names a grok pattern refers to directly."""
    found = []
    for m in _TOKEN.finditer(pattern):
        if m.lastgroup == "ref":
            spec = _REFERENCE_SPEC.fullmatch(m.group()[2:-1])
            if spec is not None:
                found.append(spec.group(1))
    return found


_QUANTIFIER = re.compile(r"[*+?]|\{\d*(?:,\d*)?\}")


def cut_points(pattern: str) -> list[int]:
    """Where a pattern can be cut into a shorter one that still compiles: outside groups and
    classes, and not between an atom and its quantifier. For showing how far a line matches."""
    cuts: list[int] = []
    depth = pos = 0
    while pos < len(pattern):
        m = _TOKEN.match(pattern, pos)
        if m is not None and m.lastgroup == "name":
            depth, pos = depth + 1, m.end()
            continue
        if m is not None:
            pos = m.end()
        elif pattern[pos] == "(":
            depth, pos = depth + 1, pos + 1
            continue
        else:
            depth -= pattern[pos] == ")"
            pos += 1
        while (q := _QUANTIFIER.match(pattern, pos)) is not None:
            pos = q.end()
        if depth == 0 and pos < len(pattern):
            cuts.append(pos)
    return cuts
