"""Reading a running worker's /metrics and /health: what `logweir status` shows."""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

from pipeline.errors import LogweirError
from pipeline.settings import Settings


class WorkerUnreachable(LogweirError):
    pass


Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scrape:
    """One read of /metrics: every sample by name, then by its sorted labels."""

    at: float
    samples: dict[str, dict[Labels, float]]

    def total(self, name: str) -> float:
        return sum(self.samples.get(name, {}).values())

    def by(self, name: str, label: str) -> dict[str, float]:
        grouped: dict[str, float] = defaultdict(float)
        for labels, value in self.samples.get(name, {}).items():
            grouped[dict(labels).get(label, "")] += value
        return dict(grouped)

    def buckets(self, name: str) -> list[tuple[float, float]]:
        """A histogram's (upper bound, cumulative count) pairs, summed over its other labels."""
        return sorted((float(le), count) for le, count in self.by(f"{name}_bucket", "le").items())


def parse(text: str, at: float) -> Scrape:
    samples: dict[str, dict[Labels, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return Scrape(at, dict(samples))


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile: linear within the bucket holding the q-th observation."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * (
                (rank - lower_count) / span if span else 1.0
            )
        lower_bound, lower_count = bound, count
    return None


def delta(
    now: list[tuple[float, float]], before: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    earlier = dict(before)
    return [(le, count - earlier.get(le, 0.0)) for le, count in now]


def worker_url(settings: Settings) -> str:
    # A worker listening on every interface is reached on loopback from the same machine.
    host = "127.0.0.1" if settings.metrics_host in ("0.0.0.0", "::", "") else settings.metrics_host
    return f"http://{host}:{settings.metrics_port}"


def scrape(url: str) -> tuple[Scrape, dict[str, Any] | None]:
    """/metrics and /health of the worker at `url` (health None if it did not answer JSON)."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=3) as response:
            metrics = parse(response.read().decode(), time.monotonic())
    except (OSError, ValueError):
        raise WorkerUnreachable(
            f"no worker metrics at {url}: is `logweir worker` running?"
        ) from None
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:  # 503: degraded, and the body says why
        body = exc.read()
    except OSError:
        return metrics, None
    try:
        return metrics, orjson.loads(body)
    except orjson.JSONDecodeError:
        return metrics, None
