"""The worker's Prometheus metrics, on a registry of their own (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Not the library's global registry: only what logweir defines is exposed, and importing this
# module twice in tests never collides with another package's collectors.
REGISTRY = CollectorRegistry(auto_describe=True)

consumed = Counter(
    "logweir_consumed_messages", "Kafka messages consumed, per topic", ["topic"], registry=REGISTRY
)
events = Counter(
    "logweir_events",
    "Events read out of consumed messages, per topic",
    ["topic"],
    registry=REGISTRY,
)
parsed = Counter(
    "logweir_parsed_events",
    "Events parsed into log records, per format",
    ["format"],
    registry=REGISTRY,
)
deadletters = Counter(
    "logweir_deadletters", "Dead letters written, per reason", ["reason"], registry=REGISTRY
)
stored = Counter("logweir_stored_events", "Log rows stored in otel_logs", registry=REGISTRY)
dropped = Counter(
    "logweir_dropped_events", "Events dropped on purpose by a user hook", registry=REGISTRY
)
skipped = Counter(
    "logweir_skipped_events",
    "Events skipped because ClickHouse already had them (a replay)",
    registry=REGISTRY,
)

batch_rows = Histogram(
    "logweir_sink_batch_rows",
    "Rows per ClickHouse insert, per table",
    ["table"],
    registry=REGISTRY,
    buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 20000, 50000),
)
insert_seconds = Histogram(
    "logweir_sink_insert_seconds",
    "Time ClickHouse took to acknowledge one insert call (a retried call is timed again)",
    ["table"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
insert_retries = Counter(
    "logweir_sink_retries",
    "ClickHouse calls retried because the server was down or busy",
    registry=REGISTRY,
)

incarnations = Counter(
    "logweir_kafka_incarnations",
    "Partitions found to be a new incarnation (offsets went back: a broker that lost its data, "
    "or a topic deleted and re-created), per topic",
    ["topic"],
    registry=REGISTRY,
)
rebalances = Counter(
    "logweir_rebalances",
    "Partition assignments received, per consumer group",
    ["group"],
    registry=REGISTRY,
)
discarded = Counter(
    "logweir_discarded_messages",
    "Messages fetched but not written because the assignment changed before their batch was "
    "written; they are read again from the committed offsets",
    registry=REGISTRY,
)

lag = Gauge(
    "logweir_consumer_lag",
    "Messages not yet fetched: the fetch high watermark minus the consumer position",
    ["topic", "partition"],
    registry=REGISTRY,
)

alerts = Counter(
    "logweir_alerts",
    "Alert transitions, per rule and status (firing|resolved)",
    ["rule", "status"],
    registry=REGISTRY,
)
deliveries = Counter(
    "logweir_webhook_deliveries",
    "Webhook delivery attempts, per target and outcome (sent|retry|failed: given up)",
    ["target", "outcome"],
    registry=REGISTRY,
)
pending_deliveries = Gauge(
    "logweir_webhook_pending_deliveries",
    "Webhook deliveries neither sent nor given up yet, per target (on the leader)",
    ["target"],
    registry=REGISTRY,
)
oldest_pending_delivery = Gauge(
    "logweir_webhook_oldest_pending_seconds",
    "Age of the oldest pending webhook delivery, per target: how long it has missed alerts",
    ["target"],
    registry=REGISTRY,
)
