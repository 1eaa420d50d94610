"""The one settings object: every path, port, topic name and threshold is defined here."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The default enricher chain: names of pipeline/enrich/registry.py, in the order they run.
DEFAULT_ENRICHERS: tuple[str, ...] = (
    "time",
    "skew",
    "retention",
    "service",
    "host",
    "truncate",
    "template",
)


class WebhookTarget(BaseModel):
    """Where alerts are delivered, and in which payload format."""

    name: str
    url: str
    kind: str = Field("generic", description="a kind of pipeline/alerting/notify/kinds/")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        # Imported here, not at the top: settings are read before anything else is loaded.
        from pipeline.alerting.notify import kinds

        kinds.get(kind)  # raises "unknown webhook kind 'x': one of …"
        return kind


class Settings(BaseSettings):
    """Read from `LOGWEIR_*` environment variables and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="LOGWEIR_", env_file=".env", extra="ignore", frozen=True
    )

    # Where the embedded local stack keeps its data, logs and pid files.
    state_dir: Path = Path(".logweir")

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port of a Kafka broker")
    app_id: str = Field("logweir", description="Faust app id, also the Kafka consumer group")
    topic_raw: str = "logs.raw"
    topic_deadletter: str = "logs.deadletter"
    topic_alerts: str = "logs.alerts"
    topic_partitions: int = Field(4, ge=1)
    # Broker security, passed to every Kafka client logweir creates (worker, producers, CLI).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    # Largest Kafka message the worker accepts and the producers send (bytes).
    max_message_bytes: int = Field(16 * 1024 * 1024, ge=1024)

    # ClickHouse
    clickhouse_url: str = "http://127.0.0.1:8123"
    clickhouse_database: str = "logweir"
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    # Native protocol port of the embedded ClickHouse (for clickhouse-client users).
    clickhouse_tcp_port: int = 9000
    # Level of the embedded ClickHouse's own log (clickhouse-server.log in its state directory,
    # rotated by size); debug and trace write every query's text.
    clickhouse_log_level: Literal[
        "none", "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"
    ] = "warning"

    # Backups (`logweir backup` / `restore`, pipeline/ops/backup.py). The embedded ClickHouse
    # keeps its `backups` disk in this directory (default: <state_dir>/backups). With
    # backup_s3_url set (an http(s) URL of a bucket and prefix), backups go there instead,
    # signed with the key pair below (both empty: the server's own S3 credentials).
    backup_path: Path | None = None
    backup_s3_url: str = ""
    backup_s3_access_key_id: str = ""
    backup_s3_secret_access_key: SecretStr = SecretStr("")

    # Getting logs in (pipeline/shipping). The logging handler queues at most this many records
    # while Kafka is slow or down (more are dropped and counted, never blocking the app), and
    # flush()/close()/exit wait this long for Kafka's acks.
    handler_queue_size: int = Field(10_000, ge=1)
    handler_flush_seconds: float = Field(5.0, gt=0)

    # HTTP intake (`logweir intake`, pipeline/intake): OTLP/HTTP logs and lines over HTTP into
    # topic_raw. 4318 is OTLP/HTTP's own port. Tokens map each bearer token to the service it
    # may write ("" for any), e.g. {"s3cret": "", "api-token": "api"}; none: the intake
    # refuses to start. A request body (as sent, and again once gunzipped) holds at most
    # intake_max_body_bytes; each token sends at most intake_rate_events_per_second events on
    # average (0: no limit); Kafka has intake_kafka_timeout_seconds to acknowledge a request.
    intake_host: str = "127.0.0.1"
    intake_port: int = Field(4318, ge=1, le=65535)
    intake_tokens: dict[str, str] = Field(default_factory=dict)
    intake_max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    intake_rate_events_per_second: float = Field(0.0, ge=0)
    intake_kafka_timeout_seconds: float = Field(10.0, gt=0)
    # Open `GET /v1/tail` streams at most (each polls ClickHouse twice a second); 503 beyond.
    intake_tail_max_streams: int = Field(16, ge=1)

    # The ingest consumer looks for new and re-created `logs.raw.*` topics this often, and
    # reports (log line, /health) owning no partition for longer than this.
    ingest_metadata_refresh_seconds: float = Field(5.0, gt=0)
    ingest_join_seconds: float = Field(20.0, gt=0)
    # How a fetched batch becomes rows: "columnar" parses the common formats a format group at
    # a time (pipeline/ingest/columnar.py), the rest of the batch record by record;
    # "per_record" takes every message through the record-by-record path (the bench compares
    # the two). Both store the same rows.
    ingest_path: Literal["columnar", "per_record"] = "columnar"

    # Consumer-group timing of the worker's Kafka clients (the ingest consumer and the Faust
    # app): a member that stops heart-beating is evicted after the session timeout, and a
    # group join waits about half of it, so small values keep rebalances quick.
    kafka_session_timeout_seconds: float = Field(6.0, gt=0)
    kafka_heartbeat_seconds: float = Field(1.0, gt=0)

    # Sink batching: a batch is written once it holds this many Kafka messages, or this many
    # bytes of them (a shipper's message may hold many events), or after this long.
    sink_batch_messages: int = Field(20000, ge=1)
    sink_batch_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    sink_linger_seconds: float = Field(0.25, gt=0)
    # A ClickHouse that is down is retried with exponential backoff up to this delay, forever.
    sink_retry_max_seconds: float = Field(30.0, gt=0)

    # Windows and alerting. Windows are on event time; a window counts as closed once its end
    # plus the lateness allowance has passed.
    window_seconds: int = Field(60, ge=1)
    alert_lateness_seconds: float = Field(2.0, ge=0)
    alert_eval_interval_seconds: float = Field(1.0, gt=0)
    rules_file: Path | None = Field(None, description="YAML alert rules; see deploy/alerts/")
    builtin_burst_rule: bool = Field(True, description="the error-burst rule, on with no YAML")

    # Webhooks: a JSON list in LOGWEIR_WEBHOOKS, e.g. [{"name":"ops","url":"http://…"}].
    webhooks: list[WebhookTarget] = Field(default_factory=list)
    # HMAC-SHA256 key for generic webhooks (X-Logweir-Signature); empty = unsigned.
    webhook_secret: SecretStr = SecretStr("")
    # Each attempt of a delivery has this long to be answered.
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    # A failed delivery is retried after webhook_backoff_seconds, doubling per failure up to
    # webhook_backoff_max_seconds between tries (with jitter), until this long after the alert
    # was raised: then it is recorded `failed`. Pending deliveries live in ClickHouse, so the
    # retrying goes on across worker restarts and leader changes.
    webhook_give_up_after_seconds: float = Field(24 * 3600.0, gt=0)
    webhook_backoff_seconds: float = Field(0.5, gt=0)
    webhook_backoff_max_seconds: float = Field(300.0, gt=0)

    # Retention of otel_logs rows, applied as the table's TTL by every migrate (worker
    # start-up, `logweir db migrate`). Per-severity days override the default, e.g.
    # LOGWEIR_RETENTION_DAYS_BY_SEVERITY='{"ERROR": 90, "FATAL": 90, "DEBUG": 7}' keeps
    # errors for a quarter and debug noise for a week.
    retention_days: int = Field(30, ge=1)
    retention_days_by_severity: dict[str, int] = Field(default_factory=dict)

    # Parsing and enrichment.
    # Bodies longer than this are truncated (and flagged) before storage.
    max_body_bytes: int = Field(64 * 1024, ge=256)
    # One Kafka message is one event ("message"), or newline-delimited events ("lines");
    # "auto" splits only messages whose every line is a JSON object (NDJSON), so a multi-line
    # traceback or pretty-printed JSON stays one event. A `framing` header overrides it.
    framing: Literal["auto", "message", "lines"] = "auto"
    # Force a format per topic, e.g. {"logs.raw.nginx": "access"}; a `format` header wins.
    # Names from the parser and enricher registries, checked when the ingestor is built: the
    # enricher registry imports these settings, so a check here would be an import cycle.
    topic_formats: dict[str, str] = Field(default_factory=dict)
    # Formats of your own: a YAML file of named grok or regex patterns (see
    # deploy/formats/formats.example.yaml), compiled and checked when the ingestor is built;
    # their names work in topic_formats and `format` headers like the built-in ones.
    formats_file: Path | None = None
    enrichers: list[str] = Field(default_factory=lambda: list(DEFAULT_ENRICHERS))
    # Templates (pipeline/enrich/templates.py). A message joins a learnt template when at
    # least this share of the words both hold literally are equal (Drain's similarity).
    template_similarity: float = Field(0.5, gt=0, le=1)
    # At most this many templates are learnt per worker; past it a message of a new shape
    # keeps its masked text as template (stable, but not generalised).
    template_max_clusters: int = Field(20_000, ge=100)
    # Workers share what they learn through ClickHouse this often, so that one event gets one
    # id on all of them and after restarts; 0 turns sharing off (each worker mines alone).
    template_sync_seconds: float = Field(5.0, ge=0)

    # Event times further than this ahead of / behind the Kafka time are flagged.
    max_future_skew_seconds: float = Field(300.0, gt=0)
    max_past_skew_seconds: float = Field(7 * 86400.0, gt=0)
    # User hooks, "module:function", called in order with each LogRecord after enrichment;
    # a hook returns the record (changed or not) or None to drop it (dropped are counted).
    hooks: list[str] = Field(default_factory=list)

    # The worker observes itself: Prometheus /metrics and JSON /health served on this host
    # and port (0 turns the server off; `logweir status` reads them). /health answers 503
    # "degraded" once the ingest consumer is more than this many messages behind.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=0, le=65535)
    health_max_lag: int = Field(100_000, ge=0)
    # `logweir worker` runs this many worker processes in the group (`--processes` overrides
    # it); above 1 a supervisor serves /metrics and /health for all of them on metrics_port.
    worker_processes: int = Field(1, ge=1)

    def to_env(self) -> dict[str, str]:
        """The LOGWEIR_* environment that reproduces these settings in a child process."""
        dumped = self.model_dump(mode="json")
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = value.get_secret_value()
            elif value is None:
                continue
            elif isinstance(dumped[name], list | dict):
                text = json.dumps(dumped[name])
            else:
                text = str(dumped[name])
            env[f"LOGWEIR_{name.upper()}"] = text
        return env

    def scratch(self, prefix: str, **overrides: object) -> Settings:
        """These settings with topics, database and consumer groups of their own, named
        `<prefix>…` with a random tag: for a test or a benchmark run on a shared stack."""
        tag = f"{prefix}{uuid.uuid4().hex[:8]}"
        values = {
            "topic_raw": f"{tag}.raw",
            "topic_deadletter": f"{tag}.deadletter",
            "topic_alerts": f"{tag}.alerts",
            "clickhouse_database": tag.replace(".", "_").replace("-", "_"),
            "app_id": tag,
            **overrides,
        }
        # Validated (model_copy would not turn "secret" into a SecretStr, or dicts into models).
        return Settings(**{**dict(self), **values})

    @property
    def topics(self) -> list[str]:
        """Every topic the worker reads or writes (created by `logweir stack up`)."""
        return [self.topic_raw, self.topic_deadletter, self.topic_alerts]

    @property
    def ingest_group(self) -> str:
        """Consumer group of the ingest consumer (Faust's own group is `app_id`)."""
        return f"{self.app_id}.ingest"

    @property
    def faust_broker(self) -> str:
        return f"kafka://{self.kafka_bootstrap}"

    @property
    def _clickhouse_parts(self) -> tuple[str, str, int]:
        url = urlsplit(self.clickhouse_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"LOGWEIR_CLICKHOUSE_URL={self.clickhouse_url!r} is not http(s)://host:port"
            )
        default_port = 8443 if url.scheme == "https" else 8123
        return url.scheme, url.hostname, url.port or default_port

    @property
    def clickhouse_host(self) -> str:
        return self._clickhouse_parts[1]

    @property
    def clickhouse_port(self) -> int:
        return self._clickhouse_parts[2]

    @property
    def clickhouse_secure(self) -> bool:
        return self._clickhouse_parts[0] == "https"

    @property
    def kafka_host_port(self) -> tuple[str, int]:
        host, _, port = self.kafka_bootstrap.split(",")[0].rpartition(":")
        return host, int(port)


def invalid_settings(error: ValidationError) -> str:
    """One line naming each LOGWEIR_* variable that is wrong and why (pydantic's own report is
    a multi-line block per field)."""
    parts = []
    for problem in error.errors():
        where = [str(p) for p in problem["loc"]]
        name = f"LOGWEIR_{where[0].upper()}" + "".join(f"[{p}]" for p in where[1:])
        parts.append(f"{name}: {problem['msg']}")
    return "invalid settings: " + "; ".join(parts)
