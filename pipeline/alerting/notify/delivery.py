"""A webhook delivery's records: each attempt, a delivery found queued, the retry schedule."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from pipeline.alerting.notify import webhooks
from pipeline.errors import first_line
from pipeline.settings import WebhookTarget
from schemas.alerting import Alert


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try to deliver one notification to one target, as alert_deliveries records it."""

    alert: Alert
    target: str
    attempt: int  # 1 for the first try of this delivery, counted across restarts
    outcome: str  # sent | retry (failed, tried again later) | failed (given up)
    http_status: int
    error: str
    duration_ms: int

    @property
    def delivery_id(self) -> str:
        return webhooks.delivery_id(self.alert, self.target)


@dataclass(frozen=True, slots=True)
class Queued:
    """A delivery found queued in ClickHouse, neither sent nor given up."""

    alert: Alert
    target: str
    queued_at: float  # Unix seconds: the give-up time counts from here
    attempts: int  # made before, by this worker or another


class DeliveryLog(Protocol):
    """Where deliveries are queued and attempts recorded (the alerting tables)."""

    async def record_delivery(self, attempt: Attempt) -> None:
        """Write one attempt; raises when it cannot."""

    async def finished(self, alert: Alert, target: str) -> bool:
        """Whether this (notification, target) was sent or given up."""

    async def pending(self) -> list[Queued]:
        """Every delivery queued and neither sent nor given up."""


# One POST of `alert` to a target: (HTTP status, response text).
Send = Callable[[Alert, WebhookTarget], Awaitable[tuple[int, str]]]


def retry_delay(
    failures: int, first: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after `failures` failed attempts: `first`, doubled per failure up to
    `cap`, of which a random half is taken off ("equal jitter"), so deliveries to a receiver
    that comes back are spread out and none waits longer than the cap."""
    full = min(cap, first * 2.0 ** min(failures - 1, 60))
    return full / 2 + full / 2 * rand()


def failure(exc: BaseException) -> str:
    """What failed, as an attempt records it: `ConnectionRefusedError: Connect call failed`,
    or the type alone when the exception says nothing more (a bare `TimeoutError()`)."""
    name, text = type(exc).__name__, first_line(exc)
    return name if text == name else f"{name}: {text}"
