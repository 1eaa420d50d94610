"""`logweir status`: metrics text → numbers → the rendered view."""

from __future__ import annotations

from datetime import datetime

import pytest
from rich.console import Console

from pipeline.cli.status import Frame, render
from pipeline.observe.scrape import parse, quantile

SAMPLE = """\
# HELP logweir_consumed_messages_total Kafka messages consumed, per topic
# TYPE logweir_consumed_messages_total counter
logweir_consumed_messages_total{topic="logs.raw"} %(consumed)s
# HELP logweir_events_total Events read out of consumed messages, per topic
# TYPE logweir_events_total counter
logweir_events_total{topic="logs.raw"} %(consumed)s
# HELP logweir_parsed_events_total Events parsed into log records, per format
# TYPE logweir_parsed_events_total counter
logweir_parsed_events_total{format="json"} 900.0
logweir_parsed_events_total{format="access"} 80.0
# HELP logweir_deadletters_total Dead letters written, per reason
# TYPE logweir_deadletters_total counter
logweir_deadletters_total{reason="empty"} 20.0
# HELP logweir_stored_events_total Log rows stored in otel_logs
# TYPE logweir_stored_events_total counter
logweir_stored_events_total 980.0
# HELP logweir_sink_insert_seconds Time until an insert was acknowledged
# TYPE logweir_sink_insert_seconds histogram
logweir_sink_insert_seconds_bucket{le="0.01",table="otel_logs"} 0.0
logweir_sink_insert_seconds_bucket{le="0.05",table="otel_logs"} 5.0
logweir_sink_insert_seconds_bucket{le="0.1",table="otel_logs"} 10.0
logweir_sink_insert_seconds_bucket{le="+Inf",table="otel_logs"} 10.0
logweir_sink_insert_seconds_count{table="otel_logs"} 10.0
logweir_sink_insert_seconds_sum{table="otel_logs"} 0.5
# HELP logweir_consumer_lag Messages not yet fetched
# TYPE logweir_consumer_lag gauge
logweir_consumer_lag{partition="0",topic="logs.raw"} 0.0
logweir_consumer_lag{partition="1",topic="logs.raw"} 1234.0
"""


def test_parse_groups_samples_by_label():
    scrape = parse(SAMPLE % {"consumed": "1000.0"}, at=0.0)
    assert scrape.total("logweir_consumed_messages_total") == 1000
    assert scrape.by("logweir_parsed_events_total", "format") == {"json": 900, "access": 80}
    assert scrape.buckets("logweir_sink_insert_seconds") == [
        (0.01, 0),
        (0.05, 5),
        (0.1, 10),
        (float("inf"), 10),
    ]


@pytest.mark.parametrize(("q", "expected"), [(0.5, 0.05), (0.25, 0.03), (0.95, 0.095)])
def test_quantile_interpolates_like_prometheus(q, expected):
    buckets = [(0.01, 0.0), (0.05, 5.0), (0.1, 10.0), (float("inf"), 10.0)]
    assert quantile(q, buckets) == pytest.approx(expected)


def test_quantile_of_nothing_is_unknown():
    assert quantile(0.5, []) is None
    assert quantile(0.5, [(1.0, 0.0), (float("inf"), 0.0)]) is None
    assert quantile(0.99, [(1.0, 1.0), (float("inf"), 100.0)]) == 1.0  # past the last bound


def test_view_shows_rates_lag_reasons_latency_and_alerts():
    before = parse(SAMPLE % {"consumed": "1000.0"}, at=10.0)
    after = parse(SAMPLE % {"consumed": "1500.0"}, at=12.0)
    frame = Frame(
        "http://127.0.0.1:9464",
        after,
        before,
        {"status": "degraded", "broker": True, "clickhouse": True, "lag": 1234, "lag_ok": False},
        alerts=[(datetime(2026, 3, 4, 5, 6, 7), "firing", "error-burst", "checkout errors")],
    )
    console = Console(width=160, record=True)
    console.print(render(frame))
    text = console.export_text()
    assert "degraded" in text and "lag_ok NO" in text
    assert "250.0" in text  # (1500 - 1000) messages in 2 s
    assert "1,234" in text  # partition 1's lag
    assert "empty" in text and "json" in text
    assert "50 ms" in text  # p50 latency; no inserts between the frames, so since start
    assert "2026-03-04 05:06:07" in text and "error-burst" in text
