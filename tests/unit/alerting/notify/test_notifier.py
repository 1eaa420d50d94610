"""The delivery queue with an in-memory store and fake receivers: retry schedule, give-up,
resume, leadership, ordering, and "sent once"."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from pipeline.alerting.conditions.threshold import Threshold
from pipeline.alerting.engine import Engine
from pipeline.alerting.evaluator import Evaluator
from pipeline.alerting.notify.delivery import Attempt, Queued
from pipeline.alerting.notify.notifier import Notifier
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import STARTS, MemoryStore, Receivers, Topic, alert
from pipeline.observe.metrics import REGISTRY
from pipeline.settings import Settings, WebhookTarget


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "webhooks": [
            WebhookTarget(name="ops", url="http://127.0.0.1:1/ops"),
            WebhookTarget(name="slow", url="http://127.0.0.1:1/slow"),
        ],
        "webhook_backoff_seconds": 0.01,
        "webhook_backoff_max_seconds": 0.04,
        "webhook_give_up_after_seconds": 60,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def notifier(store: MemoryStore, receivers: Receivers, **overrides: object) -> Notifier:
    return Notifier(settings(**overrides), store, send=receivers)


async def until(n: Notifier, condition: Callable[[], bool], leading: bool = True) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in 5 s"
        await n.tick(time.time(), leading)
        await asyncio.sleep(0.005)


async def settle(n: Notifier, ticks: int = 20, leading: bool = True) -> None:
    """A few more ticks, for anything that should not happen to have a chance to."""
    for _ in range(ticks):
        await n.tick(time.time(), leading)
        await asyncio.sleep(0.005)


def gauge(name: str, target: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"target": target})


async def test_a_receiver_down_then_back_gets_the_alert_once(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store, receivers = MemoryStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0 if n <= 3 else 200  # refused three times, then up
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([alert()])
    await until(n, lambda: (4, "sent") in store.outcomes("ops"))
    await settle(n)

    assert store.outcomes("ops") == [(1, "retry"), (2, "retry"), (3, "retry"), (4, "sent")]
    assert receivers.to("ops") == [("f1", "firing")] * 4
    assert store.attempts[0].error.startswith("ConnectionRefusedError")
    lines = [r.getMessage() for r in caplog.records]
    assert sum("retrying until" in line for line in lines) == 1, lines
    assert sum("delivered to ops at attempt 4" in line for line in lines) == 1, lines
    assert gauge("logweir_webhook_pending_deliveries", "ops") is None
    await n.close()


async def test_failed_only_once_the_give_up_time_has_passed(caplog):
    store, receivers = MemoryStore(), Receivers()
    receivers.answer["ops"] = lambda n: 503
    n = notifier(store, receivers, webhook_give_up_after_seconds=0.3)
    queued = time.time()
    await n.queue([alert()])
    await until(n, lambda: any(o == "failed" for _, o in store.outcomes("ops")))
    await settle(n)

    *retries, (attempts, last) = store.outcomes("ops")
    assert last == "failed" and {o for _, o in retries} == {"retry"} and attempts > 3
    assert time.time() - queued >= 0.3
    assert store.attempts[-1].error == "HTTP 503: "
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"alert unit-rule (firing) not delivered to ops: gave up 0 s after it was raised, "
        f"after {attempts} attempts: HTTP 503: "
    ]
    await n.close()


async def test_while_retrying_the_pending_gauges_say_how_many_and_how_old():
    store, receivers = MemoryStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0
    n = notifier(store, receivers)
    await n.queue([alert(fingerprint="f1"), alert(fingerprint="f2")])
    await until(n, lambda: len(store.attempts) >= 4)
    assert gauge("logweir_webhook_pending_deliveries", "ops") == 2
    assert 0 <= (gauge("logweir_webhook_oldest_pending_seconds", "ops") or -1) < 5
    await n.tick(time.time(), leading=False)  # another worker leads: no stale gauges here
    assert gauge("logweir_webhook_pending_deliveries", "ops") is None
    await n.close()


async def test_a_new_leader_resumes_what_was_queued_and_counts_on(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store, receivers = MemoryStore(), Receivers()
    store.queued = [Queued(alert(), "ops", time.time() - 600, 3)]
    n = notifier(store, receivers)
    await until(n, lambda: bool(store.attempts))
    await settle(n)

    assert store.outcomes("ops") == [(4, "sent")]
    assert receivers.to("ops") == [("f1", "firing")]
    assert "resumed 1 pending webhook deliveries (ops: 1)" in caplog.messages
    await n.close()


async def test_a_worker_that_stops_leading_stops_delivering_and_the_next_leader_goes_on():
    store, receivers = MemoryStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0
    old, new = notifier(store, receivers), notifier(store, receivers)
    await old.tick(time.time(), leading=True)
    a = alert()
    store.queued = [Queued(a, t, time.time(), 0) for t in ("ops", "slow")]  # recorded…
    await old.queue([a])  # …and handed to the leader's notifier
    await until(old, lambda: len(store.outcomes("ops")) >= 2)
    await old.tick(time.time(), leading=False)
    await asyncio.sleep(0.05)  # an attempt in flight at the hand-over ends
    tried = len(receivers.got)
    await settle(old, leading=False)
    assert len(receivers.got) == tried  # no attempt once it stopped leading

    receivers.answer["ops"] = lambda n: 200
    await until(new, lambda: (store.outcomes("ops") or [(0, "")])[-1][1] == "sent")
    await settle(new)
    assert [o for _, o in store.outcomes("ops")][-1] == "sent"
    assert sum(r.outcome == "sent" for r in store.attempts if r.target == "ops") == 1
    assert receivers.to("slow") == [("f1", "firing")]  # sent by the old leader, not again
    await old.close()
    await new.close()


async def test_a_hung_receiver_does_not_hold_another_target():
    store, receivers = MemoryStore(), Receivers()
    receivers.hang["slow"] = asyncio.Event()
    n = notifier(store, receivers)
    await n.queue([alert()])
    await until(n, lambda: store.outcomes("ops") == [(1, "sent")])
    assert store.outcomes("slow") == []  # still hanging
    receivers.hang["slow"].set()
    await until(n, lambda: store.outcomes("slow") == [(1, "sent")])
    await n.close()


async def test_notifications_of_one_alert_reach_a_target_in_order():
    store, receivers = MemoryStore(), Receivers()
    up = {"now": False}
    receivers.answer["ops"] = lambda n: 200 if up["now"] else 0
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([alert(fingerprint="f1", status="firing")])
    await until(n, lambda: len(store.attempts) >= 2)
    await n.queue(
        [alert(fingerprint="f1", status="resolved"), alert(fingerprint="f2", status="firing")]
    )
    await settle(n)
    assert ("f1", "resolved") not in receivers.to("ops")  # waits behind its firing
    assert ("f2", "firing") in receivers.to("ops")  # another alert does not wait
    up["now"] = True
    await until(n, lambda: sum(r.outcome == "sent" for r in store.attempts) == 3)
    await settle(n)
    delivered = [
        (r.alert.fingerprint, r.alert.status) for r in store.attempts if r.outcome == "sent"
    ]
    assert delivered.index(("f1", "firing")) < delivered.index(("f1", "resolved"))
    assert sorted(delivered) == [("f1", "firing"), ("f1", "resolved"), ("f2", "firing")]
    await n.close()


async def test_a_notification_already_sent_is_not_sent_again():
    store, receivers = MemoryStore(), Receivers()
    a = alert()
    store.attempts.append(Attempt(a, "ops", 1, "sent", 200, "", 3))
    n = notifier(store, receivers)
    await n.queue([a])
    await until(n, lambda: len(receivers.got) == 1)
    await settle(n)
    assert receivers.to("ops") == [] and receivers.to("slow") == [("f1", "firing")]
    await n.close()


async def test_a_resume_that_read_before_a_send_was_recorded_does_not_send_it_again():
    store, receivers = MemoryStore(), Receivers()
    receivers.hang["ops"] = asyncio.Event()
    a = alert()
    store.queued = [Queued(a, "ops", time.time(), 0)]
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([a])  # the first attempt hangs

    async def send_lands_meanwhile() -> None:
        receivers.hang["ops"].set()
        while not store.attempts:
            await asyncio.sleep(0.001)

    store.before_pending = send_lands_meanwhile  # the snapshot still lists it as pending
    await until(n, lambda: bool(store.attempts))
    await settle(n)
    assert store.outcomes("ops") == [(1, "sent")] and len(receivers.got) == 1
    await n.close()


async def test_a_sent_outcome_clickhouse_did_not_take_is_kept_and_never_sent_again(caplog):
    store, receivers = MemoryStore(), Receivers()
    a = alert()
    store.queued = [Queued(a, "ops", time.time(), 0)]
    store.refuse["record_delivery"] = OSError("ClickHouse is not answering")
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.tick(time.time(), leading=True)
    await until(n, lambda: len(receivers.got) == 1)
    # Leadership lost and won back: the queue in ClickHouse still says pending.
    await n.tick(time.time(), leading=False)
    await settle(n)
    assert len(receivers.got) == 1 and store.attempts == []
    del store.refuse["record_delivery"]
    await until(n, lambda: bool(store.attempts))
    assert store.outcomes("ops") == [(1, "sent")] and len(receivers.got) == 1
    warnings = [r for r in caplog.records if "not recorded" in r.getMessage()]
    assert len(warnings) == 1
    await n.close()


async def test_a_delivery_to_a_target_no_longer_configured_is_given_up():
    store, receivers = MemoryStore(), Receivers()
    store.queued = [Queued(alert(), "gone", time.time() - 60, 2)]
    n = notifier(store, receivers)
    await until(n, lambda: bool(store.attempts))
    ((attempt, outcome),) = store.outcomes("gone")
    assert (attempt, outcome) == (2, "failed")
    assert "no longer in LOGWEIR_WEBHOOKS" in store.attempts[0].error and receivers.got == []
    await n.close()


async def test_close_lets_an_attempt_under_way_finish_and_records_it():
    store, receivers = MemoryStore(), Receivers()
    receivers.hang["ops"] = asyncio.Event()
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([alert()])
    closing = asyncio.ensure_future(n.close())
    await asyncio.sleep(0.02)
    assert not closing.done()
    receivers.hang["ops"].set()
    await asyncio.wait_for(closing, 5)
    assert store.outcomes("ops") == [(1, "sent")]


async def test_a_delivery_queued_long_ago_gets_one_last_attempt_then_fails():
    store, receivers = MemoryStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0
    store.queued = [Queued(alert(), "ops", time.time() - 3600, 7)]
    n = notifier(
        store,
        receivers,
        webhooks=[WebhookTarget(name="ops", url="http://x/ops")],
        webhook_give_up_after_seconds=60,
    )
    await until(n, lambda: bool(store.attempts))
    await settle(n)
    assert store.outcomes("ops") == [(8, "failed")] and len(receivers.got) == 1
    await n.close()


async def test_a_repeat_of_a_firing_already_sent_is_delivered_once_to_every_target():
    store, receivers = MemoryStore(), Receivers()
    first = alert(notified_at=STARTS)
    repeat = alert(notified_at=STARTS + timedelta(seconds=300), value=9.0)  # keeps its start
    n = notifier(store, receivers)
    await n.queue([first])
    await until(n, lambda: len(store.attempts) == 2)
    await n.queue([repeat])
    await until(n, lambda: len(store.attempts) == 4)
    await n.queue([repeat])  # handed over twice (a resume, say): still delivered once
    await settle(n)
    for target in ("ops", "slow"):
        sent = [r.alert for r in store.attempts if r.target == target and r.outcome == "sent"]
        assert sent == [first, repeat]
    assert len(receivers.got) == 4
    await n.close()


async def test_repeat_seconds_renotifications_of_the_engine_reach_every_target():
    W, T0 = 10, 1_700_000_000
    rule = AlertRule.model_validate(
        {
            "name": "errors",
            "match": {"services": ["api"], "min_severity": "error"},
            "condition": Threshold(count=5),
            "window_seconds": W,
            "repeat_seconds": 15,
        }
    )
    store, receivers = MemoryStore(), Receivers()
    n = notifier(store, receivers)
    evaluator = Evaluator([rule], Engine(0, W), store, n, Topic(), interval=1.0)
    for at in (T0 + 2, T0 + 12, T0 + 22):  # still failing every window; 20 s apart: a repeat
        store.counts.append(("api", "ERROR", "", at - 1, 6))
    for now in (T0 + 2, T0 + 22):
        store.clock = lambda now=now: now
        await evaluator.tick(now)

    assert [a.status for _, a, _ in store.alerts] == ["firing", "firing"]
    await until(n, lambda: len(receivers.got) == 4)
    await settle(n)
    for target in ("ops", "slow"):
        sent = [r.alert for r in store.attempts if r.target == target and r.outcome == "sent"]
        assert [a.notified_at.timestamp() for a in sent] == [T0 + 2, T0 + 22]  # type: ignore[union-attr]
        assert {a.starts_at.timestamp() for a in sent} == {T0 + 2}
    await n.close()
