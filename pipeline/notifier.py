"""Webhook delivery: retries with backoff and jitter, every attempt recorded, never blocking.

`submit()` returns at once: each (alert, target) delivery runs as its own task, so a slow or
dead receiver delays only its own alerts, never the stream that produced them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from pipeline import webhooks
from pipeline.settings import Settings, WebhookTarget
from schemas.alerting import Alert

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    alert: Alert
    target: str
    attempt: int
    outcome: str  # sent | retry | failed | skipped (already delivered)
    http_status: int
    error: str
    duration_ms: int


Recorder = Callable[[Attempt], Awaitable[None]]
SentCheck = Callable[[Alert, str], Awaitable[bool]]


class Notifier:
    def __init__(self, settings: Settings, record: Recorder, already_sent: SentCheck) -> None:
        self._targets = settings.webhooks
        self._secret = settings.webhook_secret.get_secret_value().encode()
        self._timeout = settings.webhook_timeout_seconds
        self._max_attempts = settings.webhook_max_attempts
        self._backoff = settings.webhook_backoff_seconds
        self._record = record
        self._already_sent = already_sent
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, alert: Alert) -> None:
        for target in self._targets:
            task = asyncio.ensure_future(self._deliver(alert, target))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for deliveries under way (used at shutdown and by `alerts test`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        if self._session is not None:
            await self._session.close()

    async def send_once(self, alert: Alert, target: WebhookTarget) -> tuple[int, str]:
        """One POST; returns (HTTP status, response text or error)."""
        body, headers = webhooks.request(alert, target, self._secret)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(
            target.url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        ) as response:
            return response.status, (await response.text())[:500]

    async def _deliver(self, alert: Alert, target: WebhookTarget) -> None:
        if await self._already_sent(alert, target.name):
            return
        for attempt in range(1, self._max_attempts + 1):
            started = time.monotonic()
            status, error = 0, ""
            try:
                status, text = await self.send_once(alert, target)
                if 200 <= status < 300:
                    await self._record(
                        Attempt(alert, target.name, attempt, "sent", status, "", _ms(started))
                    )
                    return
                error = f"HTTP {status}: {text[:200]}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
            last = attempt == self._max_attempts
            await self._record(
                Attempt(
                    alert,
                    target.name,
                    attempt,
                    "failed" if last else "retry",
                    status,
                    error,
                    _ms(started),
                )
            )
            if last:
                log.error(
                    "alert %s (%s) not delivered to %s after %d attempts: %s",
                    alert.rule,
                    alert.status,
                    target.name,
                    attempt,
                    error,
                )
                return
            # Exponential backoff with full jitter: receivers coming back are not stampeded.
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
