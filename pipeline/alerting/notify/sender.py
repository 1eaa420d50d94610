"""The HTTP side of delivery: one POST per attempt, over one connection pool."""

from __future__ import annotations

import aiohttp

from pipeline.alerting.notify import webhooks
from pipeline.settings import Settings, WebhookTarget
from schemas.alerting import Alert


class HttpSender:
    """POSTs an alert to a target as its kind says (a `delivery.Send`)."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.webhook_secret.get_secret_value().encode()
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, alert: Alert, target: WebhookTarget) -> tuple[int, str]:
        """One POST; returns (HTTP status, response text)."""
        body, headers = webhooks.request(alert, target, self._secret)
        if self._session is None:
            # No overall connection limit: the notifier caps attempts in flight per target,
            # so a hung receiver cannot use up connections another target needs.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        async with self._session.post(
            target.url, data=body, headers=headers, timeout=self._timeout
        ) as response:
            return response.status, (await response.text())[:500]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
