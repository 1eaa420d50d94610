"""Message templates: variable parts masked, so identical errors share one stable id."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

# A variable is a token with a digit or an "@" in it (as in Drain, where such tokens are the
# parameters) and becomes "<*>"; "/" and quotes end a token so paths keep their fixed parts.
# One C-level substitution with no Python callback. The lookbehind lets a match start only
# where a token starts: without it every position inside a digit-free word was tried again
# (twice as slow, same result).
_VARIABLE = re.compile(r"(?<![\w.:@+%-])[\w.:@+%-]*[\d@][\w.:@+%-]*")
# Only the head of the first line defines the template: stack traces and payloads vary.
_HEAD = 300


def mask(body: str) -> str:
    head = body[:_HEAD]
    if "\n" in head:
        head = head.split("\n", 1)[0]
    return _VARIABLE.sub("<*>", head).strip()


@lru_cache(maxsize=65536)
def _id(template: str) -> int:
    # A hash of the text, not a counter: the same template gets the same id on every worker
    # and after every restart, with no state to persist.
    return int.from_bytes(hashlib.blake2b(template.encode(), digest_size=8).digest(), "big")


# Structured logs repeat their messages ("cache miss", "request handled"): a body seen before
# skips the regex. Only short bodies are kept (long ones rarely repeat), and the cache is
# emptied when full, which is cheaper per event than LRU bookkeeping; at most ~5 MB.
_SEEN: dict[str, tuple[int, str]] = {}
_SEEN_MAX = 16384
_SEEN_BODY_MAX = 160


def template_of(body: str) -> tuple[int, str]:
    """(TemplateId, template text) of a message body."""
    seen = _SEEN.get(body)
    if seen is not None:
        return seen
    template = mask(body)
    result = _id(template), template
    if len(body) <= _SEEN_BODY_MAX:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[body] = result
    return result
