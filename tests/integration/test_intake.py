"""`logweir intake` on the real stack: OTel SDK, OTLP JSON, NDJSON and gzip requests end as
rows in otel_logs with every field; refused requests store nothing; Kafka away is 503 and the
retried request is stored once."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from pipeline.clickhouse import connect
from pipeline.intake.server import READY
from pipeline.ops import migrations
from pipeline.settings import Settings
from pipeline.stack.broker import Broker
from pipeline.stack.child import Child
from pipeline.stack.process import free_port
from tests.support.stack import WorkerProcess, isolated, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "it-token"
BOUND = "bound-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class IntakeProcess(Child):
    def __init__(self, settings: Settings, log_path: Path) -> None:
        env = {**os.environ, **settings.to_env()}
        super().__init__([sys.executable, "-m", "pipeline.cli", "intake"], log_path, env)
        self.url = f"http://127.0.0.1:{settings.intake_port}"

    def ready(self) -> IntakeProcess:
        wait_for(lambda: READY in self.log_text() or not self.alive(), 60, "the intake to listen")
        assert self.alive(), self.log_tail()
        return self


def with_intake(settings: Settings, **overrides: object) -> Settings:
    return Settings(
        **{
            **dict(settings),
            "intake_port": free_port(),
            "intake_tokens": {TOKEN: "", BOUND: "bound"},
            **overrides,
        }
    )


@pytest.fixture
def intake(pipeline_settings: Settings) -> Iterator[tuple[Settings, IntakeProcess]]:
    settings = with_intake(pipeline_settings)
    process = IntakeProcess(settings, settings.state_dir / "runs" / settings.app_id / "intake.log")
    process.start().ready()
    yield settings, process
    process.stop()


def post(
    url: str, data: bytes, headers: dict[str, str], timeout: float = 60
) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def rows(client, marker: str) -> list[dict]:  # type: ignore[no-untyped-def]
    result = client.query(
        "SELECT Body, ServiceName, SeverityNumber, SeverityText, TraceId, SpanId, TraceFlags, "
        "ResourceAttributes, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, "
        "EventName, LogFormat, toUnixTimestamp64Nano(Timestamp) AS ns "
        "FROM otel_logs WHERE position(Body, {m:String}) > 0 ORDER BY Body",
        parameters={"m": marker},
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def test_every_way_in_lands_in_otel_logs_with_its_fields(intake, worker, clickhouse):
    settings, process = intake
    marker = uuid.uuid4().hex

    # 1. The real OTel SDK: logging handler → OTLP/HTTP protobuf exporter (gzip), in a span.
    resource = Resource.create({"service.name": "otel-svc", "deployment.environment": "it"})
    provider = LoggerProvider(resource=resource)
    exporter = OTLPLogExporter(
        endpoint=f"{process.url}/v1/logs", headers=AUTH, compression=Compression.Gzip
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger(f"intake.it.{marker}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(logger_provider=provider))
    tracer = TracerProvider().get_tracer("it")
    with tracer.start_as_current_span("checkout") as span:
        logger.warning("sdk %s slow provider", marker, extra={"provider": "acme"})
        context = span.get_span_context()
    logger.info("sdk %s second", marker)
    provider.shutdown()

    # 2. OTLP JSON as a user writes it: hex ids, string times, integer severity. (A recent
    # time: one older than its retention would be stored at the Kafka time, flagged.)
    at_ns = time.time_ns() - 60 * 10**9
    otlp_json = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]
                },
                "scopeLogs": [
                    {
                        "scope": {
                            "name": "json.scope",
                            "version": "3.1",
                            "attributes": [{"key": "team", "value": {"stringValue": "pay"}}],
                        },
                        "logRecords": [
                            {
                                "timeUnixNano": str(at_ns),
                                "severityNumber": 18,
                                "severityText": "Error2",
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "flags": 1,
                                "eventName": "pay.failed",
                                "body": {"stringValue": f"json {marker} payment failed"},
                                "attributes": [{"key": "amount", "value": {"doubleValue": 9.5}}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    status, body, _ = post(
        f"{process.url}/v1/logs",
        orjson.dumps(otlp_json),
        {**AUTH, "Content-Type": "application/json"},
    )
    assert (status, orjson.loads(body)) == (200, {})

    # 3. NDJSON, gzipped, service from the query.
    ndjson = b"\n".join(
        orjson.dumps({"level": "error", "msg": f"ndjson {marker} {i}", "order": i})
        for i in range(3)
    )
    status, body, _ = post(
        f"{process.url}/ingest?service=nd-svc",
        gzip.compress(ndjson),
        {**AUTH, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    assert (status, orjson.loads(body)) == (200, {"accepted": 3})

    # 4. Refused requests: none of them may leave a row.
    refused = [
        ("bad token", {"Authorization": "Bearer nope"}, b"text", 401),
        ("bad ndjson", {**AUTH, "Content-Type": "application/x-ndjson"}, b"{\n", 400),
        ("other service", {"Authorization": f"Bearer {BOUND}"}, b"x", 403),
        ("bad type", {**AUTH, "Content-Type": "image/png"}, b"x", 415),
    ]
    for name, headers, payload, expected in refused:
        url = f"{process.url}/ingest" + ("?service=other" if name == "other service" else "")
        status, body, _ = post(url, f"refused {marker} ".encode() + payload, headers)
        assert status == expected, (name, body)
        assert "error" in orjson.loads(body), name

    expected_rows = 2 + 1 + 3
    wait_for(lambda: len(rows(clickhouse, marker)) >= expected_rows, 180, "rows", worker)
    found = {row["Body"]: row for row in rows(clickhouse, marker)}
    assert len(found) == expected_rows, sorted(found)

    sdk = found[f"sdk {marker} slow provider"]
    assert sdk["ServiceName"] == "otel-svc"
    assert sdk["ResourceAttributes"]["deployment.environment"] == "it"
    assert sdk["SeverityNumber"] == 13 and sdk["SeverityText"] == "WARN"
    assert sdk["TraceId"] == format(context.trace_id, "032x")
    assert sdk["SpanId"] == format(context.span_id, "016x")
    assert sdk["TraceFlags"] == int(context.trace_flags)  # sampled, and W3C level 2 "random"
    assert sdk["ScopeName"] == logger.name
    assert sdk["LogAttributes"]["provider"] == "acme"
    assert sdk["LogFormat"] == "otlp"
    assert found[f"sdk {marker} second"]["SeverityNumber"] == 9

    js = found[f"json {marker} payment failed"]
    assert js["ServiceName"] == "json-svc"
    assert (js["SeverityNumber"], js["SeverityText"]) == (18, "Error2")
    assert (js["TraceId"], js["SpanId"]) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert js["ns"] == at_ns
    assert (js["ScopeName"], js["ScopeVersion"]) == ("json.scope", "3.1")
    assert js["ScopeAttributes"] == {"team": "pay"}
    assert js["LogAttributes"] == {"amount": "9.5"}
    assert js["EventName"] == "pay.failed"

    for i in range(3):
        nd = found[f"ndjson {marker} {i}"]
        assert (nd["ServiceName"], nd["SeverityNumber"]) == ("nd-svc", 17)
        assert nd["LogAttributes"]["order"] == str(i)

    assert not [body for body in found if body.startswith("refused")]
    dead = clickhouse.query(
        "SELECT count() FROM logs_deadletter WHERE position(Raw, {m:String}) > 0",
        parameters={"m": marker},
    ).result_rows[0][0]
    assert dead == 0


def test_kafka_away_is_503_and_the_retried_request_is_stored_once(stack, tmp_path):
    # A broker of this test's own: stopping the session's would disturb other tests.
    port = stack.kafka_host_port[1] + 7
    base = isolated(stack, kafka_bootstrap=f"127.0.0.1:{port}", state_dir=tmp_path)
    settings = with_intake(base, intake_kafka_timeout_seconds=3.0)
    broker = Broker(settings)
    broker.start()
    process = IntakeProcess(settings, tmp_path / "intake.log")
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        broker.create_topics(settings.topics, settings.topic_partitions)
        migrations.apply(settings)
        process.start().ready()
        marker = uuid.uuid4().hex
        lines = f"retry {marker} one\nretry {marker} two\n".encode()
        headers = {**AUTH, "Content-Type": "text/plain"}

        status, _, _ = post(f"{process.url}/ingest?service=retry", lines, headers)
        assert status == 200  # Kafka is there: the producer is connected

        broker.stop()
        status, body, answer = post(f"{process.url}/ingest?service=retry", lines, headers)
        assert status == 503, body
        assert answer["Retry-After"].isdigit()
        assert "retry it" in orjson.loads(body)["error"]

        broker.start()  # the local broker lost its log: the topics are made again
        broker.create_topics(settings.topics, settings.topic_partitions)
        wait_for(
            lambda: post(f"{process.url}/ingest?service=retry", lines, headers)[0] == 200,
            120,
            "the intake to accept the retried request",
        )
        worker.start()
        client = connect(settings)
        wait_for(lambda: len(rows(client, marker)) >= 2, 180, "the retried lines", worker)
        # The first request went to the broker's old log, lost with it; the 503 one never
        # reached Kafka; the retry is stored once.
        assert sorted(row["Body"] for row in rows(client, marker)) == [
            f"retry {marker} one",
            f"retry {marker} two",
        ]
    finally:
        worker.stop()
        process.stop()
        broker.stop()


class TailReader:
    """A `GET /v1/tail` stream read in a thread: the rows of its `data:` events."""

    def __init__(self, url: str, token: str) -> None:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        self.response = urllib.request.urlopen(request, timeout=120)
        self.rows: list[dict] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed by close()
            for line in self.response:
                if line.startswith(b"data: "):
                    self.rows.append(orjson.loads(line[6:]))

    def close(self) -> None:
        self.response.close()


def test_the_tail_stream_shows_each_posted_line_once_and_only_what_the_token_may_read(
    intake, worker
):
    settings, process = intake
    marker = uuid.uuid4().hex[:10]
    # From a minute back: the streams show what was stored before they started polling too,
    # then every new row, each once.
    tail = f"{process.url}/v1/tail?contains={marker}&since=1m"
    assert _get_status(tail, {}) == 401
    assert _get_status(tail + "&service=other", {"Authorization": f"Bearer {BOUND}"}) == 403
    assert _get_status(tail + "&colour=red", AUTH) == 400
    everything, bound_only = TailReader(tail, TOKEN), TailReader(tail, BOUND)
    try:
        sent = {"bound": [], "other": []}
        for request in range(6):
            service, token = ("bound", BOUND) if request % 2 else ("other", TOKEN)
            lines = [f"{marker} {service} request {request} line {i}" for i in range(50)]
            status, answer, _ = post(
                f"{process.url}/ingest?service={service}",
                "\n".join(lines).encode(),
                {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
            )
            assert status == 200, answer
            sent[service] += lines
        wait_for(lambda: len(everything.rows) >= 300, 120, "300 rows on the stream", worker)
        wait_for(lambda: len(bound_only.rows) >= 150, 60, "150 rows on the bound stream", worker)
        time.sleep(2)  # a row shown twice would come in a later poll
    finally:
        everything.close()
        bound_only.close()
    assert sorted(r["Body"] for r in everything.rows) == sorted(sent["bound"] + sent["other"])
    assert sorted(r["Body"] for r in bound_only.rows) == sorted(sent["bound"])
    assert {r["ServiceName"] for r in bound_only.rows} == {"bound"}


def _get_status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30):
            return 200
    except urllib.error.HTTPError as error:
        return error.code
