"""Message templates: variable parts masked, so identical errors share one stable id."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

# Most specific first: a UUID must not be eaten piecewise by the hex and number rules.
_MASKS = (
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
     "<uuid>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"), "<email>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    # IPv6: "::" somewhere, or the full eight groups (so clock times like 12:30:45 stay).
    (re.compile(r"(?<![\w:])(?=[0-9a-fA-F:]*::|(?:[0-9a-fA-F]{1,4}:){7})"
                r"[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])"), "<ip>"),
    (re.compile(r"\b(?:0x)?[0-9a-fA-F]*\d[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|"
                r"\b(?:0x)?[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\d[0-9a-fA-F]*\b"), "<hex>"),
    (re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?:ms|s|us|µs|ns|kb|mb|gb|b|%)?(?![\w.])",
                re.IGNORECASE), "<num>"),
)
# Only the head of the first line defines the template: stack traces and payloads vary.
_HEAD = 300


def mask(body: str) -> str:
    head = body.split("\n", 1)[0][:_HEAD]
    for pattern, token in _MASKS:
        head = pattern.sub(token, head)
    return head.strip()


@lru_cache(maxsize=65536)
def _id(template: str) -> int:
    # A hash of the text, not a counter: the same template gets the same id on every worker
    # and after every restart, with no state to persist.
    return int.from_bytes(hashlib.blake2b(template.encode(), digest_size=8).digest(), "big")


def template_of(body: str) -> tuple[int, str]:
    """(TemplateId, template text) of a message body."""
    template = mask(body)
    return _id(template), template
