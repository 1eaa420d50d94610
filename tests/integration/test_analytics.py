"""Materialized views, reports and retention on a real ClickHouse, checked against otel_logs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.bench.producer import produce
from pipeline.bench.sample import SampleTraffic
from pipeline.ops import retention
from pipeline.query import reports
from tests.support.known_rows import COLUMNS, NOW, known_row, known_rows
from tests.support.stack import run, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def known(clickhouse):  # type: ignore[no-untyped-def]
    clickhouse.insert("otel_logs", known_rows(), column_names=COLUMNS)
    return clickhouse


def _params(**extra: object) -> reports.Params:
    return reports.Params(since=NOW - timedelta(hours=1), until=NOW + timedelta(minutes=1), **extra)  # type: ignore[arg-type]


def _report(client, name: str, **extra: object) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    report = reports.find(name)
    result = reports.run(client, report, _params(**extra))
    assert result.columns == report.columns
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_views_match_counts_computed_from_otel_logs(pipeline_settings, clickhouse, worker):
    produced = run(produce(pipeline_settings, SampleTraffic(seed=5).lines(1500)))
    wait_for(
        lambda: (
            clickhouse.query("SELECT count() FROM otel_logs").result_rows[0][0] >= produced.count
        ),
        90,
        "sample rows",
        worker,
    )

    def same(view_sql: str, direct_sql: str) -> None:
        # The views are filled by the same insert as otel_logs, but ClickHouse can make their
        # parts visible a moment after the table's: the whole sample may be one insert.
        def rows(sql: str) -> list[tuple[object, ...]]:
            return sorted(clickhouse.query(sql).result_rows)

        wait_for(lambda: rows(view_sql) == rows(direct_sql), 10, f"{view_sql} to match")
        assert rows(view_sql)

    same(
        "SELECT Minute, ServiceName, SeverityNumber, sum(Count) FROM log_minute_counts "
        "GROUP BY ALL",
        "SELECT toStartOfMinute(TimestampTime), ServiceName, SeverityNumber, count() "
        "FROM otel_logs GROUP BY ALL",
    )
    same(
        "SELECT ServiceName, TemplateId, sum(Count), min(FirstSeen), max(LastSeen) "
        "FROM log_error_templates GROUP BY ALL",
        "SELECT ServiceName, TemplateId, count(), min(Timestamp), max(Timestamp) "
        "FROM otel_logs WHERE SeverityNumber >= 17 GROUP BY ALL",
    )
    same(
        "SELECT ServiceName, StatusClass, sum(Requests), sum(TimedRequests) "
        "FROM http_request_stats GROUP BY ALL",
        "SELECT ServiceName, concat(substring(LogAttributes['http.response.status_code'], 1, 1),"
        " 'xx'), count(), countIf(mapContains(LogAttributes, 'http.server.request.duration')) "
        "FROM otel_logs WHERE mapContains(LogAttributes, 'http.response.status_code') "
        "GROUP BY ALL",
    )
    same(
        "SELECT KafkaPartition, sum(Rows) FROM ingest_minute_counts "
        "WHERE TargetTable = 'otel_logs' GROUP BY ALL",
        "SELECT KafkaPartition, count() FROM otel_logs GROUP BY ALL",
    )
    # Merged quantile states give what quantiles over the raw durations give.
    merged = clickhouse.query(
        "SELECT quantilesMerge(0.5, 0.95, 0.99)(Duration) FROM http_request_stats"
    ).result_rows[0][0]
    direct = clickhouse.query(
        "SELECT quantiles(0.5, 0.95, 0.99)("
        "toFloat64(LogAttributes['http.server.request.duration'])) FROM otel_logs "
        "WHERE mapContains(LogAttributes, 'http.server.request.duration')"
    ).result_rows[0][0]
    assert merged == pytest.approx(direct)


def test_error_reports_on_known_rows(known):
    errors = {r["service"]: r for r in _report(known, "errors")}
    assert (errors["checkout"]["rows"], errors["checkout"]["errors"]) == (6, 2)
    assert (errors["payments"]["errors"], errors["payments"]["unique_errors"]) == (12, 1)
    assert (errors["(all)"]["rows"], errors["(all)"]["errors"]) == (21, 14)

    templates = _report(known, "error-templates")
    assert [(t["service"], t["template_id"], t["errors"]) for t in templates] == [
        ("payments", 7, 12),
        ("checkout", 2, 2),
    ]
    assert templates[0]["sample"].startswith("timeout after")

    bursts = _report(known, "error-bursts")
    assert [(b["service"], b["errors"]) for b in bursts] == [("payments", 12)]

    trend = _report(known, "error-trend", step=3600)
    assert sum(t["rows"] for t in trend) == 21 and sum(t["errors"] for t in trend) == 14
    histogram = _report(known, "severity", step=3600)
    assert sum(h["debug"] for h in histogram) == 3
    assert sum(h["total"] for h in histogram) == 21


def test_performance_user_and_top_reports_on_known_rows(known):
    (perf,) = _report(known, "performance")
    assert (perf["service"], perf["operation"], perf["requests"]) == (
        "checkout",
        "GET /api/items/:id",
        6,
    )
    assert perf["avg_ms"] == pytest.approx(350.0) and perf["max_ms"] == pytest.approx(600.0)

    slowest = _report(known, "slowest", limit=2)
    assert [s["duration_ms"] for s in slowest] == [600.0, 500.0]
    assert slowest[0]["status"] == "500"

    http = {h["status_class"]: h for h in _report(known, "http")}
    assert (http["2xx"]["requests"], http["5xx"]["requests"]) == (4, 2)
    assert http["5xx"]["avg_ms"] == pytest.approx(550.0)

    users = {u["user"]: u for u in _report(known, "users")}
    assert (users["u1"]["actions"], users["u2"]["actions"]) == (3, 3)
    (summary, total) = _report(known, "user-summary")
    assert (summary["service"], summary["users"], summary["actions_per_user"]) == (
        "checkout",
        2,
        3.0,
    )
    assert total["service"] == "(all)"

    top = _report(known, "top", by="ServiceName")
    assert [(t["value"], t["rows"]) for t in top] == [("payments", 15), ("checkout", 6)]
    paths = _report(known, "top-attribute", attribute="url.path", service="checkout")
    assert len(paths) == 6 and all(p["rows"] == 1 for p in paths)


def test_reports_take_the_service_filter_as_a_parameter(known):
    assert _report(known, "errors", service="checkout")[0]["rows"] == 6
    for hostile in ("'; DROP TABLE otel_logs; --", "x' OR '1'='1", "a\\'b", '"'):
        assert all(r["rows"] == 0 for r in _report(known, "errors", service=hostile))
    assert known.query("SELECT count() FROM otel_logs").result_rows[0][0] == 21


def test_retention_keeps_each_severity_its_own_days(pipeline_settings, clickhouse):
    settings = pipeline_settings.model_copy(
        update={"retention_days": 30, "retention_days_by_severity": {"DEBUG": 7, "ERROR": 90}}
    )
    assert retention.apply(clickhouse, settings)
    assert retention.apply(clickhouse, settings) == []  # idempotent: nothing to change

    # Rows 10 and 40 days old, at DEBUG, INFO and ERROR: after TTL merges only the ones whose
    # severity keeps them longer than their age are left.
    old = [
        known_row(days * 1440, "svc", sev, f"{days}d {sev}", 0)
        for days in (10, 40)
        for sev in (5, 9, 17)
    ]
    clickhouse.insert("otel_logs", old, column_names=COLUMNS)
    clickhouse.command("OPTIMIZE TABLE otel_logs FINAL")
    left = sorted(r[0] for r in clickhouse.query("SELECT Body FROM otel_logs").result_rows)
    assert left == ["10d 17", "10d 9", "40d 17"]

    # Back to one retention for everything: whole parts are dropped again.
    assert retention.apply(clickhouse, pipeline_settings)
    engine = clickhouse.query(
        "SELECT engine_full FROM system.tables WHERE "
        "database = currentDatabase() AND name = 'otel_logs'"
    ).result_rows[0][0]
    assert "TTL TimestampTime + toIntervalDay(30)" in engine
    assert "ttl_only_drop_parts = 1" in engine
