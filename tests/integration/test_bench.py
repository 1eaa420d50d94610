"""A tiny run of the benchmark: it works end to end and reports every figure (not how fast)."""

from __future__ import annotations

import json

import pytest

from pipeline import bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_small_benchmark_reports_every_figure(stack):
    steps: list[str] = []
    # latency_rate 0: the latency run holds half the one-worker rate measured first.
    results = bench.run(stack, events=400, latency_rate=0, latency_seconds=2, step=steps.append)
    json.dumps(results)  # the results file must be writable as JSON
    for shape in ("single", "batched", "naive", "two_workers"):
        assert results[shape]["events_per_s"] > 0
        assert results[shape]["peak_rss_mb"] > 0
        assert results[shape]["worker_cores"] > 0
        for place in ("clickhouse_cores", "broker_cores", "other_processes_cores"):
            assert results[shape][place] >= 0
    # Issue 18: the worker's CPU per event on each ingest path, one event per message.
    by_path = results["single_by_path"]
    assert set(by_path) == {"columnar", "per_record"}
    assert by_path[results["ingest_path"]] == results["single"]
    for path in by_path.values():
        assert path["events_per_s"] > 0
        assert path["cpu_s_per_million"] > 0
        assert path["worker_cores"] > 0
    pairs = results["cpu_s_per_million_by_path_pairs"]
    assert len(pairs) == bench.CPU_PAIRS and pairs[0] == {
        path: d["cpu_s_per_million"] for path, d in by_path.items()
    }
    ratios = sorted(p["columnar"] / p["per_record"] for p in pairs)
    assert results["ratios"]["columnar_vs_per_record_cpu_per_event"] == pytest.approx(
        ratios[len(ratios) // 2], abs=0.01
    )
    assert results["single_consume_only_msgs_per_s"] > 0
    assert results["insert_only_rows_per_s"] > 0
    intake = results["intake"]
    assert intake["events"] >= 400  # a multi-line event posted as raw lines is one per line
    for figure in ("events_per_s", "accepted_events_per_s", "requests", "peak_rss_mb"):
        assert intake[figure] > 0
    assert intake["intake_peak_rss_mb"] > 0
    # CPU is read from /proc in 10 ms ticks: a few requests can cost the intake less than one.
    for figure in ("intake_cpu_s_per_million", "cpu_s_per_million"):
        assert intake[figure] >= 0
    for place in ("intake_cores", "client_cores", "clickhouse_cores", "broker_cores"):
        assert intake[place] >= 0
    assert {"intake_vs_single", "intake_vs_batched"} <= set(results["ratios"])
    assert results["latency"]["messages"] > 0
    assert results["latency"]["rate"] == round(results["single"]["events_per_s"] / 2)
    assert results["latency"]["rate_vs_single"] == pytest.approx(0.5, abs=0.01)
    assert results["latency"]["p99_s"] >= results["latency"]["p50_s"] > 0
    assert set(results["parse_lines_per_s"]) >= {"json", "access", "syslog", "logfmt", "text"}
    assert len(steps) >= 8
