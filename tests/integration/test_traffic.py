"""`logweir gen` and `logweir produce` through the real broker into ClickHouse."""

from __future__ import annotations

import re

import pytest

from tests.support.stack import logweir, wait_for

pytestmark = pytest.mark.integration


def _count(clickhouse, where: str = "1") -> int:  # type: ignore[no-untyped-def]
    return int(clickhouse.query(f"SELECT count() FROM otel_logs WHERE {where}").result_rows[0][0])


def test_gen_sends_steady_traffic_and_error_bursts(pipeline_settings, clickhouse, worker):
    done = logweir(
        pipeline_settings,
        "gen",
        "--rate",
        "200",
        "--duration",
        "2",
        "--burst-every",
        "0.5",
        "--burst-size",
        "30",
        "--service",
        "payments",
        "--seed",
        "5",
    )
    assert done.returncode == 0, done.stderr
    summary = re.search(
        r"sent (\d+) messages .*: (\d+) at 200/s and (\d+) bursts of 30 errors", done.stdout
    )
    assert summary, done.stdout
    total, steady, bursts = (int(g) for g in summary.groups())
    assert bursts >= 1 and total == steady + 30 * bursts
    assert done.stdout.count("errors from payments") == bursts

    wait_for(lambda: _count(clickhouse) >= total, 90, f"{total} generated rows", worker)
    assert _count(clickhouse) == total
    assert _count(clickhouse, "ServiceName != 'payments'") == 0
    assert _count(clickhouse, "SeverityNumber >= 17") >= 30 * bursts


def test_produce_sends_lines_with_key_and_headers(pipeline_settings, clickhouse, worker, tmp_path):
    source = tmp_path / "lines.log"
    source.write_text("level=info msg=one\n\nlevel=warn msg=two\nlevel=error msg=three\n")
    done = logweir(
        pipeline_settings,
        "produce",
        str(source),
        "--key",
        "keyed",
        "--header",
        "format=logfmt",
        "--header",
        "host=web-9",
    )
    assert done.returncode == 0, done.stderr
    assert f"produced 3 messages to {pipeline_settings.topic_raw}" in done.stdout

    wait_for(lambda: _count(clickhouse) >= 3, 60, "3 produced rows", worker)
    rows = clickhouse.query(
        "SELECT Body, ServiceName, LogFormat, ResourceAttributes['host.name'] FROM otel_logs "
        "ORDER BY SeverityNumber"
    ).result_rows
    assert rows == [
        ("one", "keyed", "logfmt", "web-9"),
        ("two", "keyed", "logfmt", "web-9"),
        ("three", "keyed", "logfmt", "web-9"),
    ]


def test_produce_rejects_a_header_without_a_value(pipeline_settings):
    done = logweir(pipeline_settings, "produce", "--header", "format")
    assert done.returncode == 2
    assert "is not k=v" in done.stderr
