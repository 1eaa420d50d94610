"""Guards for user regexes against catastrophic backtracking: Python's `re` has no timeout.

Two layers:

- `problems()`, at start-up: refuses the shapes that backtrack exponentially, read from the
  regex's parse tree. A repetition whose body holds another variable-length repetition with
  no mandatory separator that the inner one cannot consume (`(\\w+\\s?)+`, `(.*?,)+`), and a
  repetition over alternatives that can start with the same character (`(a|ab)+`), unless
  that inner part is atomic `(?>…)` or possessive (`++`, `*+`), which cannot give characters
  back. `(?:\\w+\\.)*`, `(?:[^"\\\\]|\\\\.)*` and the library's patterns pass.
- `Deadline`, per line: polynomial backtracking (`%{DATA} %{DATA} \\[…` on a long line with
  many spaces and no `[`) is legal and still slow, so a pattern with several unbounded
  repetitions matches under a CPU-time budget on lines long enough to need it. A virtual
  interval timer (SIGVTALRM, CPU time of this process) is armed around the match; the regex
  engine checks for signals while it runs, so the handler's exception stops it. Signals are
  handled in the main thread only: elsewhere (or where setitimer does not exist) the match
  runs unguarded and only the first layer applies. The worker parses in its main thread.
"""

from __future__ import annotations

import importlib
import re
import signal
import threading
from collections.abc import Callable
from typing import Any

# The regex parser `re` compiles with (private, stable in 3.11; typeshed does not cover it).
_parser: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")

_ASCII = 128
ALL = (1 << (_ASCII + 1)) - 1  # bit c: ASCII character c; bit 128: any non-ASCII character
_NON_ASCII = 1 << _ASCII
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
# Above this many steps (~n^k for k unbounded repetitions) a line gets the deadline.
_STEPS_WITHOUT_DEADLINE = 1e6


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

Node = tuple[Any, Any]


def _char(code: int, flags: int) -> int:
    if code >= _ASCII:
        return _NON_ASCII
    found = 1 << code
    if flags & re.IGNORECASE and chr(code).isalpha():
        found |= 1 << ord(chr(code).swapcase())
    return found


def _chars(op: Any, av: Any, flags: int) -> int:
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


def _first(seq: Any, flags: int) -> tuple[int, bool]:
    """The characters a sequence can start with, and whether it can match nothing."""
    found = 0
    for op, av in seq:
        chars, nullable = _first_of(op, av, flags)
        found |= chars
        if not nullable:
            return found, False
    return found, True


def _first_of(op: Any, av: Any, flags: int) -> tuple[int, bool]:
    if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
        return _chars(op, av, flags), False
    if op is sre.SUBPATTERN:
        return _first(av[3], flags)
    if op is sre.ATOMIC_GROUP:
        return _first(av, flags)
    if op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
        chars, nullable = _first(av[2], flags)
        return chars, nullable or av[0] == 0
    if op is sre.BRANCH:
        found, nullable = 0, False
        for branch in av[1]:
            chars, empty = _first(branch, flags)
            found, nullable = found | chars, nullable or empty
        return found, nullable
    if op is sre.GROUPREF_EXISTS:
        yes, no = av[1], av[2]
        chars, nullable = _first(yes, flags)
        if no is None:
            return chars, True
        other, empty = _first(no, flags)
        return chars | other, nullable or empty
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return 0, True
    return ALL, True  # GROUPREF and anything unforeseen


def _consumed(seq: Any, flags: int) -> int:
    """Every character any part of a sequence can consume."""
    found = 0
    for op, av in seq:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
            found |= _chars(op, av, flags)
        elif op is sre.SUBPATTERN:
            found |= _consumed(av[3], flags)
        elif op is sre.ATOMIC_GROUP:
            found |= _consumed(av, flags)
        elif op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
            found |= _consumed(av[2], flags)
        elif op is sre.BRANCH:
            for branch in av[1]:
                found |= _consumed(branch, flags)
        elif op is sre.GROUPREF_EXISTS:
            found |= _consumed(av[1], flags)
            if av[2] is not None:
                found |= _consumed(av[2], flags)
        elif op not in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            found = ALL
    return found


def _inner(seq: Any) -> tuple[list[Node], list[Node]]:
    """Variable-length backtracking repetitions and alternations in a sequence, not counting
    those behind an atomic group or a possessive repeat (they cannot give characters back)."""
    repeats: list[Node] = []
    branches: list[Node] = []
    for op, av in seq:
        if op in _REPEATS:
            if av[1] > av[0] and av[1] > 1:
                repeats.append((op, av))
            more, alternatives = _inner(av[2])
            repeats += more
            branches += alternatives
        elif op is sre.SUBPATTERN:
            more, alternatives = _inner(av[3])
            repeats += more
            branches += alternatives
        elif op is sre.BRANCH:
            branches.append((op, av))
            for branch in av[1]:
                more, alternatives = _inner(branch)
                repeats += more
                branches += alternatives
        elif op is sre.GROUPREF_EXISTS:
            for branch in (av[1], av[2]):
                if branch is not None:
                    more, alternatives = _inner(branch)
                    repeats += more
                    branches += alternatives
    return repeats, branches


def _separators(seq: Any, flags: int) -> list[int]:
    """The characters of the mandatory single-character steps of a sequence (into groups)."""
    found = []
    for op, av in seq:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
            found.append(_chars(op, av, flags))
        elif op is sre.SUBPATTERN:
            found += _separators(av[3], flags)
        elif op in (*_REPEATS, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            found += _separators(av[2], flags)
    return found


def _show(seq: Any, limit: int = 60) -> str:
    """A short, approximate regex text for a parsed sequence, for error messages."""
    text = "".join(_show_node(op, av) for op, av in seq)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show_node(op: Any, av: Any) -> str:
    if op is sre.LITERAL:
        return re.escape(chr(av))
    if op is sre.NOT_LITERAL:
        return f"[^{re.escape(chr(av))}]"
    if op is sre.ANY:
        return "."
    if op is sre.IN:
        names = {
            sre.CATEGORY_DIGIT: r"\d",
            sre.CATEGORY_SPACE: r"\s",
            sre.CATEGORY_WORD: r"\w",
            sre.CATEGORY_NOT_DIGIT: r"\D",
            sre.CATEGORY_NOT_SPACE: r"\S",
            sre.CATEGORY_NOT_WORD: r"\W",
        }
        if len(av) == 1 and av[0][0] is sre.CATEGORY:
            return names.get(av[0][1], "[…]")
        parts = []
        for item_op, item in av:
            if item_op is sre.NEGATE:
                parts.append("^")
            elif item_op is sre.LITERAL:
                parts.append(re.escape(chr(item)))
            elif item_op is sre.RANGE:
                parts.append(f"{re.escape(chr(item[0]))}-{re.escape(chr(item[1]))}")
            elif item_op is sre.CATEGORY:
                parts.append(names.get(item, ""))
        return f"[{''.join(parts)}]"
    if op is sre.SUBPATTERN:
        return f"({_show(av[3], 40)})"
    if op is sre.ATOMIC_GROUP:
        return f"(?>{_show(av, 40)})"
    if op is sre.BRANCH:
        return "(?:" + "|".join(_show(b, 20) for b in av[1]) + ")"
    if op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
        lo, hi, body = av
        inner = _show(body, 40)
        if len(body) != 1 or body[0][0] in (*_REPEATS, sre.POSSESSIVE_REPEAT):
            inner = f"(?:{inner})"
        quantifier = {
            (0, sre.MAXREPEAT): "*",
            (1, sre.MAXREPEAT): "+",
            (0, 1): "?",
        }.get((lo, hi), f"{{{lo},{'' if hi is sre.MAXREPEAT else hi}}}")
        suffix = "?" if op is sre.MIN_REPEAT else "+" if op is sre.POSSESSIVE_REPEAT else ""
        return inner + quantifier + suffix
    return ""


def problems(regex: str, flags: int = 0) -> list[str]:
    """Why a regex could backtrack exponentially (empty when it cannot, as far as we tell)."""
    tree = _parser.parse(regex, flags)
    flags = tree.state.flags
    found: list[str] = []

    def visit(seq: Any) -> None:
        for op, av in seq:
            if op in _REPEATS and av[1] > 1:
                _check_repeat(op, av, flags, found)
            if op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
                visit(av[2])
            elif op is sre.SUBPATTERN:
                visit(av[3])
            elif op is sre.ATOMIC_GROUP:
                visit(av)
            elif op is sre.BRANCH:
                for branch in av[1]:
                    visit(branch)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                visit(av[1])
            elif op is sre.GROUPREF_EXISTS:
                for branch in (av[1], av[2]):
                    if branch is not None:
                        visit(branch)

    visit(tree)
    return list(dict.fromkeys(found))


def _check_repeat(op: Any, av: Any, flags: int, found: list[str]) -> None:
    body = av[2]
    repeats, branches = _inner(body)
    shown = _show_node(op, av)
    if repeats:
        inner = 0
        for _, av in repeats:
            inner |= _consumed(av[2], flags)
        if not any(chars & inner == 0 for chars in _separators(body, flags)):
            found.append(
                f"`{shown}` repeats a repetition with nothing in between that the inner one "
                "cannot match, which can backtrack exponentially: make the inner one possessive "
                "(`+` → `++`, `*` → `*+`) or atomic `(?>…)`, or put a separator it excludes "
                "in between"
            )
    for _, av in branches:
        seen = 0
        for branch in av[1]:
            chars, nullable = _first(branch, flags)
            if nullable or chars & seen:
                found.append(
                    f"`{shown}` repeats alternatives that can start with the same character "
                    "(or match nothing), which can backtrack exponentially: make them atomic "
                    "`(?>a|b)` or make their first characters differ"
                )
                break
            seen |= chars


def first_characters(regex: str, flags: int = 0) -> int:
    """The characters a match can start with (as bits, ALL when any); the whole line when
    the regex can match nothing."""
    tree = _parser.parse(regex, flags)
    chars, nullable = _first(tree, tree.state.flags)
    return ALL if nullable else chars


def first_bytes(chars: int) -> bytes:
    """The first bytes of lines a match can start: the ASCII characters, and every byte that
    starts a multi-byte UTF-8 character (0xc2-0xf4) for the non-ASCII bit."""
    found = bytes(c for c in range(_ASCII) if chars >> c & 1)
    if chars & _NON_ASCII:
        found += bytes(range(0xC2, 0xF5))
    return found


def unbounded_repeats(regex: str, flags: int = 0) -> int:
    """How many unbounded repetitions can backtrack (the degree of the polynomial)."""
    count = 0

    def visit(seq: Any, guarded: bool) -> None:
        nonlocal count
        for op, av in seq:
            if op in _REPEATS:
                if av[1] is sre.MAXREPEAT and not guarded:
                    count += 1
                visit(av[2], guarded)
            elif op is sre.POSSESSIVE_REPEAT:
                visit(av[2], True)
            elif op is sre.ATOMIC_GROUP:
                visit(av, True)
            elif op is sre.SUBPATTERN:
                visit(av[3], guarded)
            elif op is sre.BRANCH:
                for branch in av[1]:
                    visit(branch, guarded)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                visit(av[1], guarded)
            elif op is sre.GROUPREF_EXISTS:
                for branch in (av[1], av[2]):
                    if branch is not None:
                        visit(branch, guarded)

    visit(_parser.parse(regex, flags), False)
    return count


# --- the per-line deadline ---------------------------------------------------------------


class MatchTimeout(Exception):
    """A match ran past its CPU-time budget."""


_armed = False
_handler_installed = False
_MAIN = threading.main_thread().ident


def _on_timer(signum: int, frame: object) -> None:
    # A timer that fires just after a match ended finds nothing armed and does nothing.
    if _armed:
        raise MatchTimeout


def install_handler() -> bool:
    """Take SIGVTALRM for deadlines (main thread, once); False where that cannot be done or
    another handler holds it, and matches then run unguarded."""
    global _handler_installed
    if _handler_installed:
        return True
    if not hasattr(signal, "setitimer") or threading.get_ident() != _MAIN:
        return False
    if signal.getsignal(signal.SIGVTALRM) not in (signal.SIG_DFL, None):
        return False
    signal.signal(signal.SIGVTALRM, _on_timer)
    _handler_installed = True
    return True


def deadline_applies(regex: str, flags: int = 0) -> int | None:
    """The line length from which a match needs the deadline; None when it never does."""
    degree = unbounded_repeats(regex, flags)
    if degree < 2:
        return None  # one unbounded repetition in an anchored match: linear
    return int(_STEPS_WITHOUT_DEADLINE ** (1 / degree))


def bounded(
    match: Callable[[str], re.Match[str] | None], seconds: float, from_length: int | None
) -> Callable[[str], re.Match[str] | None]:
    """`match`, raising MatchTimeout when one call takes more than `seconds` of CPU time on a
    line of at least `from_length` characters (never when from_length is None)."""
    if from_length is None:
        return match
    setitimer, timer = signal.setitimer, signal.ITIMER_VIRTUAL
    get_ident = threading.get_ident

    def guarded(text: str) -> re.Match[str] | None:
        global _armed
        if len(text) < from_length or not _handler_installed or get_ident() != _MAIN:
            return match(text)
        setitimer(timer, seconds)
        _armed = True
        try:
            return match(text)
        finally:
            _armed = False
            setitimer(timer, 0)

    return guarded
