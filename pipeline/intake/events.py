"""`POST /ingest` bodies to event lines: raw text lines, NDJSON, or a JSON array or object.

Every shape becomes newline-delimited lines, one event each, that the worker splits again
(`framing: lines`) and parses like any producer's line: text by detection or the `format` the
client named, JSON objects by the json format.
"""

from __future__ import annotations

import orjson

from pipeline.errors import first_line
from pipeline.intake.rejection import Rejected, bad_request

TEXT = "text/plain"
NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl")
JSON = "application/json"
ACCEPTED_TYPES = f"{TEXT}, {NDJSON[0]} or {JSON}"


def check_type(content_type: str) -> None:
    """415 before the body is read, for a type no reader takes."""
    if content_type not in ("", TEXT, "application/octet-stream", JSON, *NDJSON):
        raise Rejected(415, f"Content-Type {content_type!r} is not accepted: send {ACCEPTED_TYPES}")


def lines(content_type: str, body: bytes) -> list[bytes]:
    """The events of a body, one line each, in order; empty lines are not events."""
    if content_type in ("", TEXT, "application/octet-stream"):
        return text_lines(body)
    if content_type in NDJSON:
        return ndjson_lines(body)
    if content_type == JSON:
        return json_lines(body)
    raise Rejected(415, f"Content-Type {content_type!r} is not accepted: send {ACCEPTED_TYPES}")


def text_lines(body: bytes) -> list[bytes]:
    """One event per line (\\n or \\r\\n); a multi-line event (a traceback) goes as a JSON
    object with a message key instead (`json_lines`, `ndjson_lines`)."""
    return [line for line in (raw.strip() for raw in body.split(b"\n")) if line]


def ndjson_lines(body: bytes) -> list[bytes]:
    found = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        value = _loads(line, f"line {number}")
        if type(value) is not dict:
            raise bad_request(f"line {number} is not a JSON object: NDJSON events are objects")
        found.append(line)
    return found


def json_lines(body: bytes) -> list[bytes]:
    """An array of events (objects, or strings each one text line), or one object."""
    value = _loads(body, "the body")
    items = value if type(value) is list else [value]
    found = []
    for index, item in enumerate(items):
        where = f"element {index}" if type(value) is list else "the body"
        if type(item) is dict:
            # Compact: a pretty-printed object would otherwise be split at its line breaks.
            found.append(orjson.dumps(item))
        elif type(item) is str:
            line = item.strip().encode()
            if b"\n" in line or b"\r" in line:
                raise bad_request(
                    f"{where} is a string with a line break: one event is one line; send a "
                    "multi-line event as an object with a message key"
                )
            if line:
                found.append(line)
        else:
            kind = _JSON_KINDS.get(type(item), type(item).__name__)
            raise bad_request(f"{where} is a JSON {kind}: send objects or strings")
    return found


_JSON_KINDS = {list: "array", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _loads(data: bytes, where: str) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"{where} is not JSON: {first_line(exc)}") from None
