"""The leader's evaluation loop on an in-memory store: restore, evaluate, record, publish,
hand over; and what it does when ClickHouse or one rule fails."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pipeline.alerting.conditions.threshold import Threshold
from pipeline.alerting.engine import Engine
from pipeline.alerting.evaluator import Evaluator
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import MemoryStore, Outbox, Topic
from schemas.alerting import Alert

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W
TEMPLATE = "00000000000000ff"


def rule(name: str = "errors", service: str = "api*") -> AlertRule:
    return AlertRule.model_validate(
        {
            "name": name,
            "match": {"services": [service], "min_severity": "error"},
            "condition": Threshold(count=5),
            "window_seconds": W,
            "resolve_after_windows": 1,
        }
    )


def evaluator(store: MemoryStore, *rules: AlertRule) -> tuple[Evaluator, Outbox, Topic]:
    outbox, topic = Outbox(targets=["ops", "chat"]), Topic()
    engine = Engine(lateness=0, default_window=W)
    return Evaluator(rules or [rule()], engine, store, outbox, topic, interval=1.0), outbox, topic


async def tick(e: Evaluator, store: MemoryStore, now: float) -> None:
    store.clock = lambda: now
    await e.tick(now)


async def test_an_alert_is_recorded_with_its_deliveries_then_handed_over_and_published():
    store = MemoryStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6), ("api", "INFO", "", T0, 9)])
    e, outbox, topic = evaluator(store)
    await tick(e, store, T0 + 2)
    await tick(e, store, T0 + 3)

    assert store.recorded() == [("firing", "errors")]
    assert [(q.alert.rule, q.target) for q in store.queued] == [
        ("errors", "ops"),
        ("errors", "chat"),
    ]
    (alert,) = outbox.alerts
    assert (alert.value, alert.group) == (6, {"service": "api"})
    ((key, value),) = topic.sent
    assert key == alert.fingerprint.encode() and Alert.model_validate_json(value) == alert


async def test_resolved_once_quiet():
    store = MemoryStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    e, outbox, _ = evaluator(store)
    for second in range(2, 3 * W):
        await tick(e, store, T0 + second)
    assert [a.status for a in outbox.alerts] == ["firing", "resolved"]


async def test_a_new_leader_restores_the_state_and_neither_fires_again_nor_forgets(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store = MemoryStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    old, _, _ = evaluator(store)
    await tick(old, store, T0 + 2)
    new, outbox, _ = evaluator(store)
    for second in range(3, 3 * W):
        await tick(new, store, T0 + second)
    assert store.recorded() == [("firing", "errors"), ("resolved", "errors")]
    assert [a.status for a in outbox.alerts] == ["resolved"]
    assert outbox.alerts[0].starts_at.timestamp() == T0 + 2
    assert "alert state restored: 1 groups firing" in caplog.messages


async def test_a_worker_that_was_not_leading_for_a_while_restores_again(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store = MemoryStore()
    e, _, _ = evaluator(store)
    for now in (T0, T0 + 1, T0 + 5, T0 + 11):
        await tick(e, store, now)
    assert caplog.messages.count("alert state restored: 0 groups firing") == 2


async def test_a_rule_that_cannot_be_read_is_skipped_and_the_others_evaluated(caplog):
    store = MemoryStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    store.failing_rules["broken"] = TimeoutError()  # no message at all
    e, outbox, _ = evaluator(store, rule("broken"), rule("errors"))
    await tick(e, store, T0 + 2)
    assert [a.rule for a in outbox.alerts] == ["errors"]
    assert "rule broken not evaluated: TimeoutError" in caplog.messages


async def test_clickhouse_away_skips_the_tick_and_the_next_one_restores(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store = MemoryStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    store.down = OSError()
    e, outbox, topic = evaluator(store)
    await tick(e, store, T0 + 2)
    assert outbox.alerts == [] and "alerts not evaluated: OSError" in caplog.messages
    store.down = None
    await tick(e, store, T0 + 3)
    assert [a.status for a in outbox.alerts] == ["firing"] and len(topic.sent) == 1


async def test_an_alert_that_could_not_be_recorded_is_neither_delivered_nor_forgotten():
    store = MemoryStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    store.refuse["record"] = ConnectionResetError(104, "Connection reset by peer")
    e, outbox, topic = evaluator(store)
    await tick(e, store, T0 + 2)
    assert store.alerts == [] and outbox.alerts == [] and topic.sent == []
    del store.refuse["record"]
    await tick(e, store, T0 + 3)  # restored from the table, which has no firing: fires now
    assert store.recorded() == [("firing", "errors")] and len(outbox.alerts) == 1


@dataclass
class CountingStore(MemoryStore):
    """A memory store that remembers how many rules each read asked for."""

    reads: list[int] = field(default_factory=list)

    async def observe(self, reads):  # type: ignore[no-untyped-def]
        self.reads.append(len(reads))
        return await super().observe(reads)


async def test_every_rule_is_read_in_one_read_per_tick():
    store = CountingStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    e, outbox, _ = evaluator(store, *(rule(f"r{i}") for i in range(50)))
    await tick(e, store, T0 + 2)
    await tick(e, store, T0 + 3)
    assert store.reads == [50, 50]
    assert len(outbox.alerts) == 50


async def test_a_rule_that_cannot_be_read_costs_the_others_one_read_each_that_tick():
    store = CountingStore(counts=[("api", "ERROR", TEMPLATE, T0 + 1, 6)])
    store.failing_rules["broken"] = TimeoutError()
    e, outbox, _ = evaluator(store, rule("errors"), rule("broken"), rule("other"))
    await tick(e, store, T0 + 2)
    assert store.reads == [3, 1, 1, 1]
    assert [a.rule for a in outbox.alerts] == ["errors", "other"]
