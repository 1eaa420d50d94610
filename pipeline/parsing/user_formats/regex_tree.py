"""A regex's parse tree, as `re` itself parses it, and the characters its parts can match:
what a line matching it can start with (detection's first bytes), and what grok_safety needs to
tell a separator from the repetition it separates.

Character sets are bit masks: bit c is ASCII character c, bit 128 any non-ASCII character.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# The regex parser `re` compiles with (private, stable in 3.11; typeshed does not cover it).
_parser: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")

_ASCII = 128
ALL = (1 << (_ASCII + 1)) - 1  # bit c: ASCII character c; bit 128: any non-ASCII character
_NON_ASCII = 1 << _ASCII
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
# The nodes that match exactly one character.
SINGLE = (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY)


def parse(regex: str, flags: int = 0) -> Any:
    """The parse tree of a regex (its `state.flags` are the flags in effect)."""
    return _parser.parse(regex, flags)


def _mask(lo: int, hi: int) -> int:
    return ((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1)


_DIGIT = _mask(48, 57)
_SPACE = _mask(9, 13) | 1 << 32
_WORD = _DIGIT | _mask(65, 90) | _mask(97, 122) | 1 << 95
# \d, \s and \w take non-ASCII characters too unless the regex is compiled with re.ASCII.
_CATEGORIES = {
    sre.CATEGORY_DIGIT: _DIGIT,
    sre.CATEGORY_NOT_DIGIT: (ALL & ~_DIGIT) | _NON_ASCII,
    sre.CATEGORY_SPACE: _SPACE,
    sre.CATEGORY_NOT_SPACE: (ALL & ~_SPACE) | _NON_ASCII,
    sre.CATEGORY_WORD: _WORD,
    sre.CATEGORY_NOT_WORD: (ALL & ~_WORD) | _NON_ASCII,
}
_UNICODE_CATEGORIES = {category: chars | _NON_ASCII for category, chars in _CATEGORIES.items()}


def _char(code: int, flags: int) -> int:
    if code >= _ASCII:
        return _NON_ASCII
    found = 1 << code
    if flags & re.IGNORECASE and chr(code).isalpha():
        found |= 1 << ord(chr(code).swapcase())
    return found


def matches(op: Any, av: Any, flags: int) -> int:
    """What one single-character node can match."""
    if op is sre.LITERAL:
        return _char(av, flags)
    if op is sre.NOT_LITERAL:
        return ALL & ~_char(av, flags) | _NON_ASCII
    if op is sre.IN:
        found, negate = 0, False
        for item_op, item in av:
            if item_op is sre.NEGATE:
                negate = True
            elif item_op is sre.LITERAL:
                found |= _char(item, flags)
            elif item_op is sre.RANGE:
                lo, hi = item
                found |= _mask(min(lo, _ASCII), min(hi, _ASCII))
                if flags & re.IGNORECASE:
                    found |= ALL  # a range under IGNORECASE: not worth being precise
            elif item_op is sre.CATEGORY:
                categories = _CATEGORIES if flags & re.ASCII else _UNICODE_CATEGORIES
                found |= categories.get(item, ALL)
            else:
                found = ALL
        return (ALL & ~found | _NON_ASCII) if negate else found
    return ALL  # ANY and anything unforeseen


def first(seq: Any, flags: int) -> tuple[int, bool]:
    """The characters a sequence can start with, and whether it can match nothing."""
    found = 0
    for op, av in seq:
        chars, nullable = _first_of(op, av, flags)
        found |= chars
        if not nullable:
            return found, False
    return found, True


def _first_of(op: Any, av: Any, flags: int) -> tuple[int, bool]:
    if op in SINGLE:
        return matches(op, av, flags), False
    if op is sre.SUBPATTERN:
        return first(av[3], flags)
    if op is sre.ATOMIC_GROUP:
        return first(av, flags)
    if op in (*REPEATS, sre.POSSESSIVE_REPEAT):
        chars, nullable = first(av[2], flags)
        return chars, nullable or av[0] == 0
    if op is sre.BRANCH:
        found, nullable = 0, False
        for branch in av[1]:
            chars, empty = first(branch, flags)
            found, nullable = found | chars, nullable or empty
        return found, nullable
    if op is sre.GROUPREF_EXISTS:
        yes, no = av[1], av[2]
        chars, nullable = first(yes, flags)
        if no is None:
            return chars, True
        other, empty = first(no, flags)
        return chars | other, nullable or empty
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return 0, True
    return ALL, True  # GROUPREF and anything unforeseen


def consumed(seq: Any, flags: int) -> int:
    """Every character any part of a sequence can consume."""
    found = 0
    for op, av in seq:
        if op in SINGLE:
            found |= matches(op, av, flags)
        elif op is sre.SUBPATTERN:
            found |= consumed(av[3], flags)
        elif op is sre.ATOMIC_GROUP:
            found |= consumed(av, flags)
        elif op in (*REPEATS, sre.POSSESSIVE_REPEAT):
            found |= consumed(av[2], flags)
        elif op is sre.BRANCH:
            for branch in av[1]:
                found |= consumed(branch, flags)
        elif op is sre.GROUPREF_EXISTS:
            found |= consumed(av[1], flags)
            if av[2] is not None:
                found |= consumed(av[2], flags)
        elif op not in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            found = ALL
    return found


def first_characters(regex: str, flags: int = 0) -> int:
    """The characters a match can start with (as bits, ALL when any); the whole line when
    the regex can match nothing."""
    tree = parse(regex, flags)
    chars, nullable = first(tree, tree.state.flags)
    return ALL if nullable else chars


def first_bytes(chars: int) -> bytes:
    """The first bytes of lines a match can start: the ASCII characters, and every byte that
    starts a multi-byte UTF-8 character (0xc2-0xf4) for the non-ASCII bit."""
    found = bytes(c for c in range(_ASCII) if chars >> c & 1)
    if chars & _NON_ASCII:
        found += bytes(range(0xC2, 0xF5))
    return found
