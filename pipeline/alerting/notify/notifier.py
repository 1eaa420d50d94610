"""Webhook delivery that outlasts receiver outages and worker restarts.

The leader records each alert together with one queued delivery per target in a single insert
(see pipeline/alerting/store.py), then hands the alerts to `Notifier.queue`. A delivery is tried
at once, then again with capped exponential backoff and jitter until
`webhook_give_up_after_seconds` after it was queued, when it is recorded `failed`. Every
attempt lands in `alert_deliveries`. A worker that becomes the leader (a restart, a rebalance)
loads the deliveries still queued, neither sent nor given up, and goes on with them; one that
stops leading forgets its queue. A (notification, target) sent is never sent again.

Each attempt is a task of its own with a timeout: a slow or dead receiver delays only its own
deliveries, never other targets or the stream of logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.alerting.notify import webhooks
from pipeline.alerting.notify.delivery import (
    Attempt,
    DeliveryLog,
    Queued,
    Send,
    failure,
    retry_delay,
)
from pipeline.alerting.notify.sender import HttpSender
from pipeline.errors import first_line
from pipeline.observe import telemetry
from pipeline.settings import Settings
from schemas.alerting import Alert

__all__ = ["Attempt", "Notifier", "Queued"]

log = logging.getLogger("logweir.alerting")

# Attempts in flight per target at most: a receiver back from an outage is not hit by every
# pending delivery at once, and a hung one holds this many connections, never all of them.
MAX_IN_FLIGHT_PER_TARGET = 4


@dataclass(slots=True)
class _Delivery:
    alert: Alert
    target: str
    id: str
    queued_at: float
    attempts: int
    due: float  # Unix seconds: the next attempt starts no sooner
    in_flight: bool = False
    # When this worker first saw it fail: its retrying is logged once, not per attempt.
    failing_since: float | None = None


class Notifier:
    """The delivery queue of the leader: `queue` new alerts, `tick` every interval."""

    def __init__(
        self,
        settings: Settings,
        deliveries: DeliveryLog,
        send: Send | None = None,
    ) -> None:
        """`deliveries` records attempts and knows what is queued; `send` makes one attempt
        (by default an HTTP POST as the target's kind says)."""
        self._targets = {t.name: t for t in settings.webhooks}
        self._first_delay = settings.webhook_backoff_seconds
        self._max_delay = settings.webhook_backoff_max_seconds
        self._give_up = settings.webhook_give_up_after_seconds
        self._log = deliveries
        self._http: HttpSender | None = None
        if send is None:
            send = self._http = HttpSender(settings)
        self._send = send
        self._queue: dict[str, _Delivery] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Sent or given up, but ClickHouse did not take the row yet: written again every tick
        # and never attempted again meanwhile (only a restart before then sends once more).
        self._unrecorded: list[Attempt] = []
        # Ids settled while a resume's query ran: its answer may predate them.
        self._settled_in_resume: set[str] | None = None
        self._leading = False
        self._resumed = False
        self._term = 0  # counts stand-downs: an attempt from an earlier term is not rescheduled
        self._closing = False
        self._recording_fails = False  # each of these two: said once per outage, not per try
        self._resume_fails = False

    @property
    def targets(self) -> list[str]:
        """Names of the targets every new alert is queued for."""
        return list(self._targets)

    async def queue(self, alerts: Iterable[Alert]) -> None:
        """Deliver `alerts` to every target; called once they are recorded (and so queued)."""
        now = time.time()
        for alert in alerts:
            for name in self._targets:
                key = webhooks.delivery_id(alert, name)
                if self._known(key) or await self._already_finished(alert, name):
                    continue
                if not self._known(key):  # a resume may have loaded it meanwhile
                    self._queue[key] = _Delivery(alert, name, key, now, 0, now)
        self._start_due(now)

    async def tick(self, now: float, leading: bool) -> None:
        """Every interval on every worker: the leader resumes, starts due attempts, reports."""
        if self._closing:
            return
        if self._unrecorded:
            await self._flush()
        if not leading:
            if self._leading:
                self._stand_down()
            return
        if not self._leading:
            self._leading, self._resumed = True, False
        if not self._resumed:
            await self._resume(now)
        self._start_due(now)
        self._report(now)

    async def close(self) -> None:
        """Let attempts under way finish (each within its timeout) and record them."""
        self._closing = True
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._unrecorded:
            await self._flush()
        if self._http is not None:
            await self._http.close()

    def _known(self, key: str) -> bool:
        """Pending here, or settled here and not yet recorded."""
        return key in self._queue or any(a.delivery_id == key for a in self._unrecorded)

    async def _already_finished(self, alert: Alert, target: str) -> bool:
        try:
            return await self._log.finished(alert, target)
        except Exception:  # noqa: BLE001 - unknown: deliver (at least once) rather than never
            return False

    def _stand_down(self) -> None:
        """Another worker leads now and resumes from ClickHouse: forget all but what is in
        flight (those finish and are recorded, not retried here)."""
        self._leading = False
        self._term += 1
        self._queue = {key: d for key, d in self._queue.items() if d.in_flight}
        telemetry.deliveries_pending({})

    async def _resume(self, now: float) -> None:
        self._settled_in_resume = set()
        try:
            found = await self._log.pending()
        except Exception as exc:  # noqa: BLE001 - ClickHouse away: try again next tick
            if not self._resume_fails:
                self._resume_fails = True
                log.warning(
                    "pending webhook deliveries not loaded (%s): trying again every tick",
                    first_line(exc),
                )
            return
        finally:
            settled, self._settled_in_resume = self._settled_in_resume, None
        resumed: Counter[str] = Counter()
        for q in found:
            key = webhooks.delivery_id(q.alert, q.target)
            if self._known(key) or key in settled:
                continue
            if q.target not in self._targets:
                error = f"target {q.target!r} is no longer in LOGWEIR_WEBHOOKS"
                attempt = Attempt(q.alert, q.target, q.attempts, "failed", 0, error, 0)
                telemetry.delivery_given_up(attempt, now - q.queued_at)
                await self._settle(attempt)
                continue
            self._queue[key] = _Delivery(q.alert, q.target, key, q.queued_at, q.attempts, now)
            resumed[q.target] += 1
        self._resumed, self._resume_fails = True, False
        if resumed:
            telemetry.deliveries_resumed(resumed)

    def _start_due(self, now: float) -> None:
        if self._closing:
            return
        busy = Counter(d.target for d in self._queue.values() if d.in_flight)
        # Notifications of one alert reach a target in order: a resolved one waits for the
        # firing one before it, or a receiver back from an outage could end up "firing".
        earlier: set[tuple[str, str]] = set()
        for d in sorted(self._queue.values(), key=lambda d: (d.queued_at, d.id)):
            chain = (d.alert.fingerprint, d.target)
            if chain in earlier:
                continue
            earlier.add(chain)
            if d.in_flight or d.due > now or busy[d.target] >= MAX_IN_FLIGHT_PER_TARGET:
                continue
            busy[d.target] += 1
            d.in_flight = True
            task = asyncio.ensure_future(self._attempt(d, self._term))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _attempt(self, d: _Delivery, term: int) -> None:
        d.attempts += 1
        started = time.monotonic()
        status, error = 0, ""
        try:
            status, text = await self._send(d.alert, self._targets[d.target])
            if not 200 <= status < 300:
                error = f"HTTP {status}: {text[:200]}"
        except Exception as exc:  # noqa: BLE001 - whatever it was, this attempt failed
            error = failure(exc)
        now = time.time()
        give_up_at = d.queued_at + self._give_up
        if not error:
            outcome = "sent"
        elif now >= give_up_at:
            outcome = "failed"
        else:
            outcome = "retry"
            delay = retry_delay(d.attempts, self._first_delay, self._max_delay)
            d.due = min(now + delay, give_up_at)
        attempt = Attempt(
            d.alert,
            d.target,
            d.attempts,
            outcome,
            status,
            error,
            int((time.monotonic() - started) * 1000),
        )
        telemetry.delivery_attempted(attempt)
        d.in_flight = False
        if outcome == "retry":
            if d.failing_since is None:
                d.failing_since = now
                telemetry.delivery_retrying(attempt, give_up_at)
            if term != self._term:
                self._queue.pop(d.id, None)  # the worker leading now goes on with it
            await self._write(attempt)
            return
        self._queue.pop(d.id, None)
        if self._settled_in_resume is not None:
            self._settled_in_resume.add(d.id)
        if outcome == "failed":
            telemetry.delivery_given_up(attempt, now - d.queued_at)
        elif d.attempts > 1:
            telemetry.delivery_recovered(attempt, now - d.queued_at)
        await self._settle(attempt)
        self._start_due(time.time())  # the next notification of this alert may go now

    async def _settle(self, attempt: Attempt) -> None:
        if not await self._write(attempt):
            self._unrecorded.append(attempt)

    async def _flush(self) -> None:
        while self._unrecorded and await self._write(self._unrecorded[0]):
            self._unrecorded.pop(0)

    async def _write(self, attempt: Attempt) -> bool:
        """Record one attempt; a lost `retry` row loses only a line of history."""
        try:
            await self._log.record_delivery(attempt)
        except Exception as exc:  # noqa: BLE001 - ClickHouse away: said once, kept (settled)
            if not self._recording_fails:
                self._recording_fails = True
                log.warning(
                    "webhook delivery outcomes not recorded (%s): sent and given-up ones are "
                    "kept and written once ClickHouse answers",
                    first_line(exc),
                )
            return False
        if self._recording_fails:
            self._recording_fails = False
            log.info("webhook delivery outcomes recorded again")
        return True

    def _report(self, now: float) -> None:
        oldest: dict[str, float] = {}
        count: Counter[str] = Counter()
        for d in self._queue.values():
            count[d.target] += 1
            oldest[d.target] = max(oldest.get(d.target, 0.0), now - d.queued_at)
        telemetry.deliveries_pending({t: (count[t], oldest[t]) for t in count})
