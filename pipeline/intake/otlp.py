"""OTLP/HTTP logs: an ExportLogsServiceRequest (protobuf or OTLP's JSON) to event lines of the
`otlp` format (pipeline/parsing/otlp.py), and the answers OTLP clients expect.

Values become what the OpenTelemetry collector's ClickHouse exporter stores for the same
record (pdata's `Value.AsString`): strings as they are, ints in decimal, doubles as ES6/Go JSON
numbers, bools `true`/`false`, bytes in base64, maps and arrays as JSON with sorted keys; trace
and span ids in lower-case hex, empty when all zero.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from pipeline.errors import first_line
from pipeline.intake.rejection import Rejected, bad_request
from pipeline.parsing import otlp as otlp_format

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
ENCODINGS = (PROTOBUF, JSON)
_ID_BYTES = {"traceId": 16, "spanId": 8}


def check_type(content_type: str) -> None:
    """415 before the body is read, for anything but OTLP's two encodings."""
    if content_type not in ENCODINGS:
        raise Rejected(415, f"Content-Type {content_type!r} is not OTLP: send {PROTOBUF} or {JSON}")


def decode(content_type: str, body: bytes) -> ExportLogsServiceRequest:
    """The request in either encoding; 400 with the reason when it is not one, 415 for other
    content types."""
    request = ExportLogsServiceRequest()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise bad_request(f"the body is not an OTLP ExportLogsServiceRequest ({exc})") from None
    elif content_type == JSON:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise bad_request(f"the body is not JSON: {first_line(exc)}") from None
        if type(document) is not dict:
            raise bad_request("the body is not an OTLP JSON object")
        _ids_to_base64(document)
        try:
            # OTLP/JSON receivers must ignore fields they do not know (the spec).
            json_format.ParseDict(document, request, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise bad_request(f"the body is not OTLP JSON: {first_line(exc)}") from None
    else:
        check_type(content_type)
    return request


def _ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON writes trace and span ids in hex, where protobuf's JSON mapping (which
    json_format reads) has base64: convert them in place, refusing ids that are not hex of
    the right length."""
    for resource_logs in _list(document, "resourceLogs"):
        for scope_logs in _list(resource_logs, "scopeLogs"):
            for index, log_record in enumerate(_list(scope_logs, "logRecords")):
                if type(log_record) is not dict:
                    continue  # json_format says what is wrong with it
                for key, size in _ID_BYTES.items():
                    value = log_record.get(key)
                    if value in (None, ""):
                        continue
                    try:
                        raw = bytes.fromhex(value) if type(value) is str else b""
                    except ValueError:
                        raw = b""
                    if len(raw) != size:
                        raise bad_request(
                            f"logRecords[{index}].{key} {value!r} is not {2 * size} hex digits"
                        )
                    log_record[key] = base64.b64encode(raw).decode()


def _list(container: object, key: str) -> list[Any]:
    value = container.get(key) if type(container) is dict else None
    return value if type(value) is list else []


def records(request: ExportLogsServiceRequest) -> int:
    return sum(len(scope.log_records) for r in request.resource_logs for scope in r.scope_logs)


def events(request: ExportLogsServiceRequest) -> Iterator[tuple[str, bytes]]:
    """(service.name of its resource, event line) for every log record, in request order."""
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        service = resource.get("service.name", "")
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_attributes = attributes(scope.attributes)
            for log in scope_logs.log_records:
                if not 0 <= log.severity_number <= 24:
                    raise bad_request(
                        f"severity_number {log.severity_number} is not an OTel SeverityNumber 0–24"
                    )
                event = {
                    "otlp": otlp_format.VERSION,
                    "Timestamp": log.time_unix_nano,
                    "ObservedTimestamp": log.observed_time_unix_nano,
                    "TraceId": _hex_id(log.trace_id),
                    "SpanId": _hex_id(log.span_id),
                    # The low 8 bits are the W3C trace flags; the rest are OTLP's own.
                    "TraceFlags": log.flags & 0xFF,
                    "SeverityText": log.severity_text,
                    "SeverityNumber": int(log.severity_number),
                    "Body": text(log.body) if log.HasField("body") else "",
                    "ResourceSchemaUrl": resource_logs.schema_url,
                    "ResourceAttributes": resource,
                    "ScopeSchemaUrl": scope_logs.schema_url,
                    "ScopeName": scope.name,
                    "ScopeVersion": scope.version,
                    "ScopeAttributes": scope_attributes,
                    "LogAttributes": attributes(log.attributes),
                    "EventName": log.event_name,
                }
                yield service, orjson.dumps(event)


def attributes(pairs: Any) -> dict[str, str]:
    """KeyValues as the exporter's Map(String, String): each value as text (a repeated key:
    the last one wins, as in a map)."""
    return {pair.key: text(pair.value) for pair in pairs}


def text(value: AnyValue) -> str:
    """An AnyValue as pdata's AsString writes it."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return go_float(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return _go_json(_raw(value))


def _raw(value: AnyValue) -> object:
    """pdata's AsRaw: the Python value a map or array holds."""
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        return {pair.key: _raw(pair.value) for pair in value.kvlist_value.values}
    if kind == "array_value":
        return [_raw(item) for item in value.array_value.values]
    if kind == "bytes_value":
        return value.bytes_value
    if kind is None:
        return None
    return getattr(value, kind)


def _go_json(value: object) -> str:
    """JSON as Go's json.Marshal writes a map[string]any: keys sorted, no spaces, <>& and
    U+2028/9 escaped, bytes in base64, floats as ES6 numbers."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return go_float(value) if math.isfinite(value) else "null"
    if type(value) is bytes:
        return _go_string(base64.b64encode(value).decode())
    if type(value) is str:
        return _go_string(value)
    if type(value) is list:
        return "[" + ",".join(_go_json(item) for item in value) + "]"
    assert type(value) is dict
    return "{" + ",".join(f"{_go_string(k)}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"


def _go_string(text: str) -> str:
    encoded = orjson.dumps(text).decode()
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escape)
    return encoded


def go_float(number: float) -> str:
    """A double as pdata writes it: the shortest text that reads back the same, positional
    unless tiny or huge (as ES6 and Go's encoding/json do): 1 not 1.0, 1e-7 not 1e-07."""
    if math.isnan(number):
        return "json: unsupported value: NaN"
    if math.isinf(number):
        return f"json: unsupported value: {'+' if number > 0 else '-'}Inf"
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, exponent = repr(number).split("e")
        return f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
    positional = format(Decimal(repr(number)), "f")
    if "." in positional:
        positional = positional.rstrip("0").rstrip(".")
    return positional


def _hex_id(raw: bytes) -> str:
    # The exporter's TraceIDToHexOrEmptyString: an all-zero id is no id.
    return raw.hex() if raw.strip(b"\0") else ""


def response(content_type: str) -> bytes:
    """A full success: an ExportLogsServiceResponse with partial_success unset (the spec)."""
    return _encode(ExportLogsServiceResponse(), content_type)


def status(content_type: str, message: str) -> bytes:
    """The google.rpc.Status body OTLP/HTTP requires for every 4xx and 5xx answer (its code is
    a gRPC code the spec leaves unused: omitted)."""
    return _encode(status_pb2.Status(message=message), content_type)


def _encode(message: Any, content_type: str) -> bytes:
    if content_type == JSON:
        return json_format.MessageToJson(message, indent=None).encode()
    return bytes(message.SerializeToString())
