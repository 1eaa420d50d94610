"""A format written in YAML, end to end: a worker started with the shipped example formats file
reads PostgreSQL lines per topic, HAProxy lines by detection and log4j lines per `format`
header, and the columns in ClickHouse are the ones the formats say; a line that would take a
user pattern hours to refuse is passed on after its CPU budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.bench.producer import produce
from pipeline.settings import Settings
from pipeline.stack.broker import Broker
from tests.support.stack import WorkerProcess, run, wait_for

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "formats" / "formats.example.yaml"
# Appended to the example's `formats:`: legal, and polynomial on a long line with no `[`.
SLOW = """
  slow:
    pattern: '%{DATA:a} %{DATA:b} %{DATA:c} \\[%{DATA:d}\\] %{GREEDYDATA:message}'
"""


def test_lines_of_yaml_formats_land_in_the_columns(pipeline_settings, clickhouse, tmp_path):
    formats_file = tmp_path / "formats.yaml"
    formats_file.write_text(EXAMPLE.read_text() + SLOW)
    postgres_topic = f"{pipeline_settings.topic_raw}.postgres"
    Broker(pipeline_settings).create_topics([postgres_topic], pipeline_settings.topic_partitions)
    settings = Settings(
        **{
            **dict(pipeline_settings),
            "formats_file": formats_file,
            "topic_formats": {postgres_topic: "postgresql"},
            "metrics_port": 0,
        }
    )
    # Well inside retention and skew limits, and visibly the line's own time (not Kafka's).
    when = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=123_000)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    # log_line_prefix = '%m [%p] %q%u@%d/%a ' (PostgreSQL's documentation).
    postgres = [
        f"{stamp}.123 UTC [12346] app@shop/billing ERROR:  relation "
        '"orders" does not exist at character 15',
        f"{stamp}.123 UTC [12340] LOG:  checkpoint starting: time",
        "connection lost, no prefix at all",  # forced by the topic, not this format
    ]
    # HAProxy's HTTP log through syslog (its configuration manual's example, dated now).
    haproxy = (
        f"{when.strftime('%b')} {when.day:>2} {when.strftime('%H:%M:%S')} lb-1 haproxy[14389]: "
        f"10.0.1.2:33317 [{when.strftime('%d/%b/%Y:%H:%M:%S')}.123] http-in static/srv1 "
        '10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"'
    )
    # log4j `%d %p [%t] %c: %m%n`, chosen by a `format` header.
    log4j = (
        f"{stamp},123 WARN [IPC Server handler 3] org.apache.hadoop.ipc.Server: "
        "Large response size 4432 for call getBlockLocations"
    )

    worker = WorkerProcess(settings, settings.state_dir / "runs" / settings.app_id / "worker.log")
    worker.start()
    try:
        run(produce(settings, [(None, line.encode()) for line in postgres], topic=postgres_topic))
        run(produce(settings, [(None, haproxy.encode())]))
        run(produce(settings, [(None, log4j.encode())], headers=[("format", b"log4j_thread")]))
        hostile = b"x " * 20_000  # unguarded, this match would run for hours (stored stripped)
        run(produce(settings, [(None, hostile)], headers=[("format", b"slow")]))

        def stored() -> int:
            return int(clickhouse.query("SELECT count() FROM otel_logs").result_rows[0][0])

        wait_for(lambda: stored() >= 6, 120, "6 rows", worker)
    finally:
        worker.stop()
    log = worker.log_text()
    assert "Traceback" not in log
    assert "format 'slow': a line of 39999 characters took over 50 ms to match" in log

    rows = {
        row["Body"]: row
        for row in clickhouse.query(
            "SELECT Timestamp, SeverityText, SeverityNumber, ServiceName, ScopeName, Body, "
            "LogAttributes, ResourceAttributes, LogFormat, IngestFlags, KafkaTopic FROM otel_logs"
        ).named_results()
    }
    assert len(rows) == 6
    passed_on = rows[hostile.decode().strip()]
    assert (passed_on["LogFormat"], passed_on["IngestFlags"][0]) == ("text", "format_mismatch")
    expected_time = when.strftime("%Y-%m-%dT%H:%M:%S.123")

    error = rows['relation "orders" does not exist at character 15']
    assert error["Timestamp"].isoformat().startswith(expected_time)
    assert (error["SeverityText"], error["SeverityNumber"]) == ("ERROR", 17)
    assert (error["ServiceName"], error["LogFormat"], error["IngestFlags"]) == (
        "billing",  # %a, the application name
        "postgresql",
        [],
    )
    assert error["LogAttributes"] == {"process.pid": "12346", "db.user": "app", "db.name": "shop"}
    assert error["KafkaTopic"] == postgres_topic

    checkpoint = rows["checkpoint starting: time"]
    assert (checkpoint["SeverityText"], checkpoint["LogFormat"]) == ("INFO", "postgresql")
    # No application name in the line: the service comes from the topic, as for any format.
    assert checkpoint["ServiceName"] == "postgres"

    mismatch = rows["connection lost, no prefix at all"]
    assert (mismatch["LogFormat"], mismatch["IngestFlags"]) == (
        "text",
        ["format_mismatch", "time_missing"],
    )

    proxy = rows[haproxy]  # no message group: the body is the line
    assert proxy["LogFormat"] == "haproxy_http"  # detected, before the built-in syslog
    assert proxy["Timestamp"].isoformat().startswith(expected_time)
    assert (proxy["ServiceName"], proxy["ResourceAttributes"]["host.name"]) == ("haproxy", "lb-1")
    attributes = proxy["LogAttributes"]
    assert attributes["client.address"] == "10.0.1.2"
    assert attributes["http.response.status_code"] == "200"
    assert attributes["http.request.line"] == "GET /index.html HTTP/1.1"
    assert "syslog.time" not in attributes

    warning = rows["Large response size 4432 for call getBlockLocations"]
    assert (warning["LogFormat"], warning["SeverityText"]) == ("log4j_thread", "WARN")
    assert warning["ScopeName"] == "org.apache.hadoop.ipc.Server"
    assert warning["LogAttributes"] == {"thread.name": "IPC Server handler 3"}
    assert warning["Timestamp"].isoformat().startswith(expected_time)
