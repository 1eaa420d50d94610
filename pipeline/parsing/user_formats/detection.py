"""How detection offers lines to a user format (`detect:`): none (topic and header only), or
a claim on the first bytes (given, else those the pattern can start with), a rank and an
optional guard on the leading bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipeline.parsing.registry import DIGITS, LETTERS, UPPER, Claim
from pipeline.parsing.user_formats import grok_safety, regex_tree
from pipeline.parsing.user_formats.compiled import FLAGS
from pipeline.parsing.user_formats.yaml_file import Reader

DETECT_KEYS = ("first", "guard", "rank")
FIRST_CLASSES = {
    "digits": DIGITS,
    "letters": LETTERS,
    "upper": UPPER,
    "lower": UPPER.lower(),
}
# Before the built-in formats (ranks 10-40): a format written for your lines should see them
# before a generic one that would also accept them.
DEFAULT_RANK = 5
GUARD_BYTES = 256  # a guard looks at this many leading bytes


def claims(
    reader: Reader, path: tuple[str, ...], given: Any, regex: re.Pattern[str]
) -> tuple[Claim, ...]:
    """Detection claims: none (topic and header only), or the first bytes (given, else those
    the pattern can start with), a rank and an optional guard on the leading bytes."""
    if given is None or given is False:
        return ()
    if given is True:
        given = {}
    if not isinstance(given, dict):
        reader.problem(path, "is true, or a mapping of first, guard and rank")
        return ()
    reader.unknown_keys(path, given, DETECT_KEYS)
    first_given = given.get("first")
    if first_given is None:
        chars = regex_tree.first_characters(regex.pattern, FLAGS)
        if chars == regex_tree.ALL:
            reader.problem(
                path,
                "the pattern can start with any character: say which with `first:` "
                "(e.g. first: digits), or leave detect out and choose the format per topic",
            )
            return ()
        first = regex_tree.first_bytes(chars)
    elif isinstance(first_given, str) and first_given:
        first = FIRST_CLASSES.get(first_given) or bytes(
            sorted({char.encode("utf-8")[0] for char in first_given})
        )
    else:
        reader.problem(
            (*path, "first"),
            f"characters a line may start with, or one of {', '.join(FIRST_CLASSES)}",
        )
        return ()
    rank = given.get("rank", DEFAULT_RANK)
    if not isinstance(rank, int) or isinstance(rank, bool):
        reader.problem((*path, "rank"), "must be a whole number (built-in formats use 10-40)")
        return ()
    guard: Callable[[bytes], object] | None = None
    if given.get("guard") is not None:
        text = given["guard"]
        if not isinstance(text, str):
            reader.problem((*path, "guard"), "must be a regex")
            return ()
        try:
            compiled = re.compile(text.encode("utf-8"), re.ASCII | re.DOTALL)
        except re.error as exc:
            reader.problem((*path, "guard"), f"does not compile as a regex: {exc}")
            return ()
        for problem in grok_safety.problems(compiled.pattern.decode("utf-8"), FLAGS):
            reader.problem((*path, "guard"), problem)
        guard_match = compiled.match

        def guard(line: bytes) -> object:
            return guard_match(line, 0, GUARD_BYTES)

    return (Claim(first, rank, guard),)
