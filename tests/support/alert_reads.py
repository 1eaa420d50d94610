"""Alert evaluation against the real ClickHouse without a worker: rows inserted straight into
otel_logs (the materialized views fill the window counts and templates in the same insert), an
evaluator over the real `AlertStore`, and a client that counts the queries it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.alerting.engine import Engine
from pipeline.alerting.evaluator import Evaluator
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.store import AlertStore
from pipeline.alerting.testing import Outbox, Topic
from pipeline.sink import LOG_COLUMNS

SEVERITY_TEXT = {9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}


def log_row(
    at: float,
    service: str,
    severity: int,
    body: str,
    template_id: int,
    template: str,
    attributes: dict[str, str] | None = None,
) -> list[object]:
    """A row of otel_logs in LOG_COLUMNS order, stamped `at` (Unix seconds)."""
    ns = int(at * 1e9)
    values: dict[str, object] = {
        "Timestamp": ns,
        "TraceId": "",
        "SpanId": "",
        "TraceFlags": 0,
        "SeverityText": SEVERITY_TEXT[severity],
        "SeverityNumber": severity,
        "ServiceName": service,
        "Body": body,
        "ResourceAttributes": {"service.name": service},
        "ScopeName": "",
        "LogAttributes": attributes or {},
        "ResourceSchemaUrl": "",
        "ScopeVersion": "",
        "ScopeAttributes": {},
        "ScopeSchemaUrl": "",
        "EventName": "",
        "LogFormat": "json",
        "TemplateId": template_id,
        "Template": template,
        "IngestFlags": [],
        "KafkaTopic": "t",
        "KafkaPartition": 0,
        "KafkaOffset": 0,
        "KafkaEventIndex": 0,
        "KafkaTimestamp": ns // 1_000_000,
    }
    return [values[c] for c in LOG_COLUMNS]


class CountingClient:
    """A clickhouse-connect client that remembers the SQL of every query it is sent."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.queries: list[str] = []

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        self.queries.append(sql)
        return self.client.query(sql, parameters=parameters)

    def insert(
        self, table: str, data: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> None:
        self.client.insert(table, data, column_names=column_names)


def evaluator(
    client: CountingClient, rules: Sequence[AlertRule], window: int, lateness: float = 1
) -> tuple[Evaluator, Outbox]:
    """An evaluator of `rules` over the real alert store (through `client`); what it raises
    is handed to the returned outbox."""
    outbox = Outbox(targets=["am"])
    store = AlertStore(lambda: client)  # type: ignore[arg-type, return-value]
    engine = Engine(lateness=lateness, default_window=window)
    return Evaluator(rules, engine, store, outbox, Topic(), interval=1.0), outbox
