from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.supervise.merge import exposition, merge, verdict


def _child(events: int, lag: int) -> str:
    registry = CollectorRegistry()
    counter = Counter("logweir_events", "events", ["topic"], registry=registry)
    counter.labels("logs.raw").inc(events)
    Gauge("logweir_consumer_lag", "lag", ["topic", "partition"], registry=registry).labels(
        "logs.raw", "0"
    ).set(lag)
    Histogram("logweir_sink_batch_rows", "rows", buckets=(10, 100), registry=registry).observe(5)
    return generate_latest(registry).decode()


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_every_sample_gets_its_process_label_and_families_are_not_repeated():
    own = CollectorRegistry()
    restarts = Counter("logweir_worker_restarts", "restarts", ["process"], registry=own)
    restarts.labels("2").inc()
    text = exposition({"1": _child(3, 7), "2": _child(5, 0)}, own)
    samples = _samples(text)
    assert samples[("logweir_events_total", (("process", "1"), ("topic", "logs.raw")))] == 3
    assert samples[("logweir_events_total", (("process", "2"), ("topic", "logs.raw")))] == 5
    lag = ("logweir_consumer_lag", (("partition", "0"), ("process", "1"), ("topic", "logs.raw")))
    assert samples[lag] == 7
    bucket = ("logweir_sink_batch_rows_bucket", (("le", "10.0"), ("process", "2")))
    assert samples[bucket] == 1
    assert samples[("logweir_worker_restarts_total", (("process", "2"),))] == 1
    # One HELP/TYPE per family: Prometheus rejects a family that appears twice.
    assert text.count(b"# TYPE logweir_events_total counter") == 1
    assert all("process" in labels for (name, labels) in [(n, dict(ls)) for n, ls in samples])


def test_a_child_that_answered_garbage_does_not_spoil_the_others():
    families = merge({"1": _child(1, 0), "2": "this is { not prometheus"})
    processes = {s.labels["process"] for f in families for s in f.samples}
    assert processes == {"1"}


def _ok(partitions: int, lag: int = 0) -> dict:
    return {
        "status": "ok",
        "broker": True,
        "clickhouse": True,
        "lag": lag,
        "lag_ok": True,
        "partitions": partitions,
        "reasons": [],
    }


def test_health_is_ok_only_when_every_child_is():
    report = verdict({"1": _ok(2, 3), "2": _ok(2, 4)})
    assert report["status"] == "ok"
    assert (report["processes"], report["partitions"], report["lag"]) == (2, 4, 7)
    assert report["broker"] and report["clickhouse"] and report["reasons"] == []
    assert set(report["children"]) == {"1", "2"}


def test_a_degraded_or_silent_child_degrades_the_whole_with_its_reason_named():
    degraded = {**_ok(0), "status": "degraded", "reasons": ["no partition of logs.raw"]}
    report = verdict({"1": _ok(4), "2": degraded, "3": "not answering (ClientConnectorError)"})
    assert report["status"] == "degraded"
    assert report["reasons"] == [
        "process 2: no partition of logs.raw",
        "process 3: not answering (ClientConnectorError)",
    ]
    assert report["children"]["3"]["status"] == "unreachable"
    # The checks come from the children that answered.
    assert report["broker"] and report["partitions"] == 4


def test_no_children_is_not_ok():
    assert verdict({})["status"] == "degraded"
