"""The intake's Prometheus metrics, on a registry of their own (served at its /metrics), in the
shape of the worker's (pipeline/observe/metrics.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

requests = Counter(
    "logweir_intake_requests",
    "HTTP requests answered, per route and status code",
    ["route", "status"],
    registry=REGISTRY,
)
accepted_events = Counter(
    "logweir_intake_accepted_events",
    "Events published to Kafka and acknowledged, per route",
    ["route"],
    registry=REGISTRY,
)
accepted_bytes = Counter(
    "logweir_intake_accepted_bytes",
    "Bytes of Kafka messages acknowledged, per route",
    ["route"],
    registry=REGISTRY,
)
publish_seconds = Histogram(
    "logweir_intake_publish_seconds",
    "Time Kafka took to acknowledge one request's message",
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
