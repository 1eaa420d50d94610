"""The leader's alert evaluation, one `tick` per interval: every rule's counts, read at once
(a few queries however many rules: `conditions.observe_all`) → the engine → state changes recorded
(with their queued deliveries) → published on logs.alerts → handed to the notifier. A worker
that becomes the leader first restores the state from the alerts table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from pipeline.alerting.counts import Query
from pipeline.alerting.engine import Engine, LastAlert
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.store import UNAVAILABLE
from pipeline.alerting.windows import Observation
from pipeline.errors import first_line
from pipeline.observe import telemetry
from schemas.alerting import Alert

log = logging.getLogger("logweir.alerting")

# A gap of this many intervals between ticks means this worker was not the leader meanwhile:
# another one may have fired or resolved, so the state is restored before going on.
RESTORE_AFTER_INTERVALS = 5


class Store(Protocol):
    """What evaluation reads and writes (`store.AlertStore`; `testing.MemoryStore` in tests)."""

    async def latest(self, rules: Sequence[str]) -> list[LastAlert]: ...

    async def observe(self, reads: Sequence[tuple[AlertRule, Query]]) -> list[Observation]: ...

    async def record(self, alerts: list[Alert], targets: Sequence[str]) -> None: ...


class Outbox(Protocol):
    """Where recorded alerts go to be delivered (`notify.notifier.Notifier`)."""

    @property
    def targets(self) -> list[str]: ...

    async def queue(self, alerts: Iterable[Alert]) -> None: ...


# Sends one message (key, value) to logs.alerts.
Publish = Callable[[bytes, bytes], Awaitable[object]]


class Evaluator:
    """Evaluates `rules` when ticked; keeps the engine's state between ticks."""

    def __init__(
        self,
        rules: Sequence[AlertRule],
        engine: Engine,
        store: Store,
        outbox: Outbox,
        publish: Publish,
        interval: float,
    ) -> None:
        self.rules = list(rules)
        self.engine = engine
        self._store = store
        self._outbox = outbox
        self._publish = publish
        self._interval = interval
        self._last_tick = 0.0

    async def tick(self, now: float) -> None:
        """One evaluation of every rule; ClickHouse away skips it and restores state on the
        next one (a change decided here may not have been recorded)."""
        try:
            await self._evaluate(now)
        except UNAVAILABLE as exc:
            self._last_tick = 0.0
            log.warning("alerts not evaluated: %s", first_line(exc))

    async def _evaluate(self, now: float) -> None:
        if now - self._last_tick > RESTORE_AFTER_INTERVALS * self._interval:
            stored = await self._store.latest([r.name for r in self.rules])
            log.info("alert state restored: %d groups firing", self.engine.restore(stored))
        self._last_tick = now
        reads = [(rule, self.engine.query(rule, now)) for rule in self.rules]
        for rule, seen in await self._observe(reads):
            alerts = self.engine.evaluate(rule, seen, now)
            if alerts:
                await self._raise(alerts)

    async def _observe(
        self, reads: list[tuple[AlertRule, Query]]
    ) -> list[tuple[AlertRule, Observation]]:
        """What every rule sees, read at once; when that fails, each rule alone, so that one
        rule that cannot be read (say a regex ClickHouse refuses) does not stop the rest."""
        try:
            return list(zip(self.rules, await self._store.observe(reads), strict=True))
        except Exception:  # noqa: BLE001 - told below, rule by rule
            pass
        seen = []
        for rule, query in reads:
            try:
                (observation,) = await self._store.observe([(rule, query)])
            except Exception as exc:  # noqa: BLE001 - one failing rule must not stop the rest
                log.warning("rule %s not evaluated: %s", rule.name, first_line(exc))
                continue
            seen.append((rule, observation))
        return seen

    async def _raise(self, alerts: list[Alert]) -> None:
        # Recorded with their queued deliveries in one insert, then delivered from here.
        await self._store.record(alerts, self._outbox.targets)
        await self._outbox.queue(alerts)
        for alert in alerts:
            telemetry.alert_raised(alert)
            await self._publish(alert.fingerprint.encode(), alert.model_dump_json().encode())
