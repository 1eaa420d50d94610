"""JSON objects: the common key aliases become LogRecord fields, the rest dotted attributes."""

from __future__ import annotations

import orjson

from pipeline.parsing import fields
from pipeline.parsing.registry import Claim, Parsed
from schemas.records import LogRecord

NAME = "json"
# A line that starts with `{` and is not a JSON object is text, flagged so users see why.
DETECT = (Claim(b"{", rank=10, refused_flag="json_invalid"),)


def parse(line: bytes) -> LogRecord | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    return fields.to_record(flatten(obj), NAME, line)


def parse_group(lines: list[bytes]) -> list[Parsed | None]:
    """`parse` of each line, as fields (see registry.Parsed), in C (fields.compiled)."""
    return fields.compiled.json_group(lines)


def flatten(obj: dict[str, object]) -> dict[str, object]:
    """Nested objects become dotted keys ({"a": {"b": 1}} → {"a.b": 1}); lists stay values.
    A flat object is returned as it is."""
    for value in obj.values():
        if type(value) is dict and value:
            break
    else:
        return obj  # most log objects are flat
    # Top-level keys are copied without formatting.
    out: dict[str, object] = {}
    stack: list[tuple[str, dict[str, object]]] = []
    for key, value in obj.items():
        if type(value) is dict and value:
            stack.append((f"{key}.", value))
        else:
            out[key] = value
    while stack:
        prefix, current = stack.pop()
        for key, value in current.items():
            name = f"{prefix}{key}"
            if type(value) is dict and value:
                stack.append((f"{name}.", value))
            else:
                out[name] = value
    return out
