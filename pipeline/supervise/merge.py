"""What the supervisor serves, made from its children's answers: their Prometheus text merged
into one exposition with a `process` label on every sample, and one /health verdict."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

PROCESS_LABEL = "process"


def merge(texts: Mapping[str, str]) -> list[Metric]:
    """Every child's metric families, one family per name, each sample labelled with the
    child's process number. Text that cannot be parsed is skipped from that point on."""
    families: dict[str, Metric] = {}
    for process, text in texts.items():
        try:
            for family in text_string_to_metric_families(text):
                merged = families.get(family.name)
                if merged is None:
                    merged = Metric(family.name, family.documentation, family.type, family.unit)
                    families[family.name] = merged
                for sample in family.samples:
                    labels = {**sample.labels, PROCESS_LABEL: process}
                    merged.samples.append(sample._replace(labels=labels))
        except ValueError:
            continue  # a child that answered garbage: its samples so far are kept
    return list(families.values())


class _Fixed(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


def exposition(texts: Mapping[str, str], own: CollectorRegistry) -> bytes:
    """The Prometheus text the supervisor serves: the children's merged, then its own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(merge(texts)))
    registry.register(_Fixed(own.collect()))
    return generate_latest(registry)


def verdict(children: Mapping[str, dict[str, Any] | str]) -> dict[str, Any]:
    """The supervisor's /health: "ok" only when every child answered "ok". Each child is its
    own /health document or, when it did not answer, a string saying why. The top-level
    fields keep the worker's shape (`logweir status` reads them): the checks are true only
    when true for every child, lag and partitions are summed; `reasons` names the process."""
    reasons: list[str] = []
    documents: dict[str, dict[str, Any]] = {}
    for process, answer in children.items():
        if isinstance(answer, str):
            answer = {"status": "unreachable", "reasons": [answer]}
        documents[process] = answer
        if answer.get("status") != "ok":
            reasons.extend(
                f"process {process}: {reason}"
                for reason in answer.get("reasons") or [f"status {answer.get('status')}"]
            )
    answered = [d for d in documents.values() if d.get("status") != "unreachable"]
    return {
        "status": "ok" if children and not reasons else "degraded",
        "processes": len(children),
        "broker": bool(answered) and all(d.get("broker") for d in answered),
        "clickhouse": bool(answered) and all(d.get("clickhouse") for d in answered),
        "lag": sum(int(d.get("lag", 0)) for d in answered),
        "lag_ok": all(d.get("lag_ok", True) for d in answered),
        "partitions": sum(int(d.get("partitions", 0)) for d in answered),
        "reasons": reasons,
        "children": documents,
    }
