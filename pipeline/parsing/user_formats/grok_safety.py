"""Guards for user regexes against catastrophic backtracking: Python's `re` has no timeout.

Two layers:

- `problems()` (here), at start-up: refuses the shapes that backtrack exponentially, read from
  the regex's parse tree. A repetition whose body holds another variable-length repetition
  with no mandatory separator that the inner one cannot consume (`(\\w+\\s?)+`, `(.*?,)+`),
  and a repetition over alternatives that can start with the same character (`(a|ab)+`),
  unless that inner part is atomic `(?>…)` or possessive (`++`, `*+`), which cannot give
  characters back. `(?:\\w+\\.)*`, `(?:[^"\\\\]|\\\\.)*` and the library's patterns pass.
- `match_budget`, per line: polynomial backtracking (`%{DATA} %{DATA} \\[…` on a long line
  with many spaces and no `[`) is legal and still slow, so a pattern with several unbounded
  repetitions (`unbounded_repeats()`, here) matches under a CPU-time budget.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.parsing.user_formats import regex_tree
from pipeline.parsing.user_formats.regex_tree import REPEATS, SINGLE, sre

Node = tuple[Any, Any]


def _inner(seq: Any) -> tuple[list[Node], list[Node]]:
    """Variable-length backtracking repetitions and alternations in a sequence, not counting
    those behind an atomic group or a possessive repeat (they cannot give characters back)."""
    repeats: list[Node] = []
    branches: list[Node] = []
    for op, av in seq:
        if op in REPEATS:
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
        if op in SINGLE:
            found.append(regex_tree.matches(op, av, flags))
        elif op is sre.SUBPATTERN:
            found += _separators(av[3], flags)
        elif op in (*REPEATS, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
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
    if op in (*REPEATS, sre.POSSESSIVE_REPEAT):
        lo, hi, body = av
        inner = _show(body, 40)
        if len(body) != 1 or body[0][0] in (*REPEATS, sre.POSSESSIVE_REPEAT):
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
    tree = regex_tree.parse(regex, flags)
    flags = tree.state.flags
    found: list[str] = []

    def visit(seq: Any) -> None:
        for op, av in seq:
            if op in REPEATS and av[1] > 1:
                _check_repeat(op, av, flags, found)
            if op in (*REPEATS, sre.POSSESSIVE_REPEAT):
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
            inner |= regex_tree.consumed(av[2], flags)
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
            chars, nullable = regex_tree.first(branch, flags)
            if nullable or chars & seen:
                found.append(
                    f"`{shown}` repeats alternatives that can start with the same character "
                    "(or match nothing), which can backtrack exponentially: make them atomic "
                    "`(?>a|b)` or make their first characters differ"
                )
                break
            seen |= chars


def unbounded_repeats(regex: str, flags: int = 0) -> int:
    """How many unbounded repetitions can backtrack (the degree of the polynomial)."""
    count = 0

    def visit(seq: Any, guarded: bool) -> None:
        nonlocal count
        for op, av in seq:
            if op in REPEATS:
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

    visit(regex_tree.parse(regex, flags), False)
    return count
