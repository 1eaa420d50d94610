"""The intake's request handling in process: parsing, limits, auth, answers (no Kafka)."""

from __future__ import annotations

import gzip

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import AppRunner
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from pipeline import parsing
from pipeline.intake import body, otlp
from pipeline.intake.auth import Auth
from pipeline.intake.rejection import Rejected
from pipeline.intake.server import RUNNER_OPTIONS, Intake, application
from pipeline.settings import Settings

TOKENS = {"any-token": "", "api-token": "api"}
ANY = {"Authorization": "Bearer any-token"}
API = {"Authorization": "Bearer api-token"}


class FakePublisher:
    """Records what would go to Kafka; `down` answers as Kafka being away does."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes, dict[str, bytes]]] = []
        self.down = False

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def kafka_up(self) -> bool:
        return not self.down

    async def publish(self, key, value, headers) -> None:  # type: ignore[no-untyped-def]
        if self.down:
            raise Rejected(503, "Kafka did not acknowledge", retry_after=5)
        self.sent.append((key, value, dict(headers)))


class IntakeTestServer(TestServer):
    """aiohttp's test server with the runner options `logweir intake` uses."""

    async def _make_runner(self, **kwargs):  # type: ignore[no-untyped-def]
        return AppRunner(self.app, **{**kwargs, **RUNNER_OPTIONS})


@pytest.fixture
async def client():  # type: ignore[no-untyped-def]
    settings = Settings(intake_tokens=TOKENS, intake_max_body_bytes=4096)
    publisher = FakePublisher()
    intake = Intake(settings, publisher)  # type: ignore[arg-type]
    async with TestClient(IntakeTestServer(application(intake))) as test_client:
        test_client.publisher = publisher
        yield test_client


OTLP_JSON = {
    "resourceLogs": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "api"}},
                    {"key": "pod.count", "value": {"intValue": "3"}},
                ]
            },
            "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
            "scopeLogs": [
                {
                    "scope": {"name": "api.cart", "version": "1.2"},
                    "logRecords": [
                        {
                            "timeUnixNano": "1704164645123456789",
                            "observedTimeUnixNano": "1704164645200000000",
                            "severityNumber": 18,
                            "severityText": "Error2",
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "flags": 1,
                            "eventName": "cart.failed",
                            "body": {
                                "kvlistValue": {
                                    "values": [
                                        {"key": "b", "value": {"doubleValue": 1.0}},
                                        {"key": "a", "value": {"stringValue": "<x>"}},
                                    ]
                                }
                            },
                            "attributes": [
                                {"key": "ratio", "value": {"doubleValue": 0.5}},
                                {"key": "ok", "value": {"boolValue": True}},
                                {
                                    "key": "tags",
                                    "value": {
                                        "arrayValue": {
                                            "values": [{"stringValue": "x"}, {"intValue": "2"}]
                                        }
                                    },
                                },
                                {"key": "unknownField", "value": {"stringValue": "kept"}},
                            ],
                            "someFutureField": 1,
                        }
                    ],
                }
            ],
        }
    ]
}


async def test_otlp_json_becomes_one_message_of_exact_otlp_events(client):
    response = await client.post(
        "/v1/logs",
        data=orjson.dumps(OTLP_JSON),
        headers={**ANY, "Content-Type": "application/json"},
    )
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == {}  # ExportLogsServiceResponse, partial_success unset
    [(key, value, headers)] = client.publisher.sent
    assert key == b"api"
    assert headers == {"framing": b"lines", "format": b"otlp"}
    record = parsing.parse(value, "otlp")
    assert record.body == '{"a":"\\u003cx\\u003e","b":1}'
    assert record.timestamp_ns == 1704164645123456789
    assert record.trace_id == "5b8efff798038103d269b633813fc60c"
    assert record.span_id == "eee19b7ec3c1b174"
    assert record.trace_flags == 1
    assert record.service == "api" and record.logger == "api.cart"
    assert record.attributes == {
        "ratio": "0.5",
        "ok": "true",
        "tags": '["x",2]',
        "unknownField": "kept",
    }
    assert record.otel.severity_number == 18 and record.otel.severity_text == "Error2"
    assert record.severity.name == "ERROR"
    assert record.otel.resource_attributes == {"service.name": "api", "pod.count": "3"}
    assert record.otel.resource_schema_url == "https://opentelemetry.io/schemas/1.26.0"
    assert record.otel.scope_version == "1.2" and record.otel.event_name == "cart.failed"


async def test_otlp_protobuf_gzip_is_answered_in_protobuf(client):
    request = ExportLogsServiceRequest()
    otlp_json = orjson.loads(orjson.dumps(OTLP_JSON))
    otlp._ids_to_base64(otlp_json)
    from google.protobuf import json_format

    json_format.ParseDict(otlp_json, request, ignore_unknown_fields=True)
    response = await client.post(
        "/v1/logs",
        data=gzip.compress(request.SerializeToString()),
        headers={**ANY, "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert response.status == 200
    assert response.content_type == "application/x-protobuf"
    ExportLogsServiceResponse().ParseFromString(await response.read())
    [(_, value, _)] = client.publisher.sent
    assert parsing.parse(value, "otlp").trace_id == "5b8efff798038103d269b633813fc60c"


async def test_otlp_errors_are_status_messages_in_the_request_encoding(client):
    bad = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]}
    response = await client.post(
        "/v1/logs", data=orjson.dumps(bad), headers={**ANY, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert "traceId 'xyz' is not 32 hex digits" in (await response.json())["message"]
    response = await client.post(
        "/v1/logs", data=b"\xff\xff", headers={**ANY, "Content-Type": "application/x-protobuf"}
    )
    assert response.status == 400
    status = status_pb2.Status()
    status.ParseFromString(await response.read())
    assert "not an OTLP ExportLogsServiceRequest" in status.message
    response = await client.post(
        "/v1/logs", data=b"x", headers={**ANY, "Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert client.publisher.sent == []


async def test_ingest_shapes(client):
    lines = b"plain line one\r\n\n  second line  \n"
    assert (
        await client.post("/ingest?service=web&format=text", data=lines, headers=ANY)
    ).status == 200
    ndjson = b'{"msg":"a"}\n{"msg":"b"}\n'
    response = await client.post(
        "/ingest",
        data=ndjson,
        headers={**ANY, "Content-Type": "application/x-ndjson", "X-Logweir-Service": "api"},
    )
    assert await response.json() == {"accepted": 2}
    array = orjson.dumps([{"msg": "c", "nested": {"k": 1}}, "a text line"])
    assert (
        await client.post(
            "/ingest", data=array, headers={**ANY, "Content-Type": "application/json"}
        )
    ).status == 200
    sent = client.publisher.sent
    assert sent[0] == (
        b"web",
        b"plain line one\nsecond line",
        {"framing": b"lines", "service": b"web", "format": b"text"},
    )
    assert sent[1] == (b"api", ndjson.strip(), {"framing": b"lines", "service": b"api"})
    assert sent[2] == (None, b'{"msg":"c","nested":{"k":1}}\na text line', {"framing": b"lines"})


@pytest.mark.parametrize(
    ("content_type", "data", "reason"),
    [
        ("application/x-ndjson", b'{"a":1}\nnot json\n', "line 2 is not JSON"),
        ("application/x-ndjson", b"[1]\n", "line 1 is not a JSON object"),
        ("application/json", b'[{"a":1}, 3]', "element 1 is a JSON number"),
        ("application/json", b'["two\\nlines"]', "element 0 is a string with a line break"),
        ("application/json", b'{"a":', "the body is not JSON"),
    ],
)
async def test_bad_bodies_get_400_with_the_reason_and_nothing_is_sent(
    client, content_type, data, reason
):
    response = await client.post(
        "/ingest", data=data, headers={**ANY, "Content-Type": content_type}
    )
    assert response.status == 400
    assert reason in (await response.json())["error"]
    assert client.publisher.sent == []


async def test_refusals(client):
    post = client.post
    assert (await post("/ingest", data=b"x")).status == 401
    assert (
        await post("/ingest", data=b"x", headers={"Authorization": "Bearer nope"})
    ).status == 401
    assert (await post("/ingest?service=web", data=b"x", headers=API)).status == 403
    assert (
        await post(
            "/ingest",
            data=b'{"service":"web","msg":"x"}',
            headers={**API, "Content-Type": "application/x-ndjson"},
        )
    ).status == 403
    assert (await post("/ingest?format=nope", data=b"x", headers=ANY)).status == 400
    assert (
        await post("/ingest", data=b"x", headers={**ANY, "Content-Type": "image/png"})
    ).status == 415
    assert (
        await post("/ingest", data=b"x", headers={**ANY, "Content-Encoding": "br"})
    ).status == 415
    assert (await post("/ingest", data=b"x" * 5000, headers=ANY)).status == 413
    bomb = gzip.compress(b"y" * 100_000)
    response = await post("/ingest", data=bomb, headers={**ANY, "Content-Encoding": "gzip"})
    assert response.status == 413 and "decompressed" in (await response.json())["error"]
    assert client.publisher.sent == []
    # A token bound to a service writes it without naming it.
    assert (await post("/ingest", data=b"x", headers=API)).status == 200
    assert client.publisher.sent[0][2]["service"] == b"api"


async def test_kafka_away_is_503_with_retry_after_and_health_says_so(client):
    client.publisher.down = True
    response = await client.post("/ingest", data=b"x", headers=ANY)
    assert response.status == 503 and response.headers["Retry-After"] == "5"
    health = await client.get("/health")
    assert health.status == 503 and (await health.json())["kafka"] is False
    client.publisher.down = False
    assert (await client.get("/health")).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert 'logweir_intake_requests_total{route="ingest",status="503"} 1.0' in metrics


def test_rate_limit_admits_while_not_in_debt_and_says_when_to_retry():
    now = [0.0]
    auth = Auth({"t": ""}, rate=10, clock=lambda: now[0])
    caller = auth.caller("Bearer t")
    auth.admit(caller, 25)  # more than a second's worth: admitted, the bucket in debt
    with pytest.raises(Rejected) as refused:
        auth.admit(caller, 1)
    assert refused.value.status == 429 and refused.value.retry_after == 2
    now[0] = 1.6  # the debt of 15 events is paid at 1.5 s
    auth.admit(caller, 1)


def test_gunzip_refuses_bombs_and_cut_streams():
    assert body.gunzip(gzip.compress(b"a" * 100) + gzip.compress(b"b"), 1000) == b"a" * 100 + b"b"
    with pytest.raises(Rejected) as bomb:
        body.gunzip(gzip.compress(b"a" * 10_000), 1000)
    assert bomb.value.status == 413
    with pytest.raises(Rejected) as cut:
        body.gunzip(gzip.compress(b"a" * 100)[:-6], 1000)
    assert cut.value.status == 400


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (-0.0, "-0"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (123456789.125, "123456789.125"),
        (1e20, "100000000000000000000"),
    ],
)
def test_doubles_are_written_as_the_exporter_writes_them(number, text):
    assert otlp.go_float(number) == text
