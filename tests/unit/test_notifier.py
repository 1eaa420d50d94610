"""The delivery queue with a fake store and fake receivers: retry schedule, give-up, resume,
leadership, ordering, and "sent once"."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pipeline.alerting.notify.notifier import Attempt, Notifier, Queued, retry_delay
from pipeline.alerting.notify.webhooks import delivery_id
from pipeline.observe.metrics import REGISTRY
from pipeline.settings import Settings, WebhookTarget
from schemas.alerting import Alert

STARTS = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def alert(fingerprint: str = "f1", status: str = "firing") -> Alert:
    return Alert(
        status=status,  # type: ignore[arg-type]
        rule="unit-rule",
        fingerprint=fingerprint,
        group={"service": "api"},
        labels={},
        annotations={},
        summary="",
        starts_at=STARTS,
        value=1.0,
        window_start=STARTS,
        window_end=STARTS,
    )


class FakeStore:
    """alert_deliveries and the queued deliveries, in memory."""

    def __init__(self) -> None:
        self.rows: list[Attempt] = []
        self.queued: list[Queued] = []
        self.recording_fails = False
        self.before_pending: Callable[[], Awaitable[None]] | None = None

    async def record(self, attempt: Attempt) -> None:
        if self.recording_fails:
            raise OSError("ClickHouse is not answering")
        self.rows.append(attempt)

    async def finished(self, a: Alert, target: str) -> bool:
        key = delivery_id(a, target)
        return any(r.delivery_id == key and r.outcome != "retry" for r in self.rows)

    async def pending(self) -> list[Queued]:
        snapshot = [q for q in self.queued if not await self.finished(q.alert, q.target)]
        if self.before_pending is not None:
            await self.before_pending()
        return snapshot

    def outcomes(self, target: str) -> list[tuple[int, str]]:
        return [(r.attempt, r.outcome) for r in self.rows if r.target == target]


class Receivers:
    """Answers per target: an HTTP status, an exception, or a hang until released."""

    def __init__(self) -> None:
        self.answer: dict[str, Callable[[int], int]] = {}
        self.hang: dict[str, asyncio.Event] = {}
        self.got: list[tuple[str, str, str]] = []  # (target, fingerprint, status)

    async def __call__(self, a: Alert, target: WebhookTarget) -> tuple[int, str]:
        if target.name in self.hang:
            await self.hang[target.name].wait()
        n = sum(1 for t, _, _ in self.got if t == target.name) + 1
        self.got.append((target.name, a.fingerprint, a.status))
        status = self.answer.get(target.name, lambda n: 200)(n)
        if status == 0:
            raise ConnectionRefusedError(111, "Connect call failed")
        return status, ""

    def to(self, target: str) -> list[tuple[str, str]]:
        return [(f, s) for t, f, s in self.got if t == target]


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


def notifier(store: FakeStore, receivers: Receivers, **overrides: object) -> Notifier:
    n = Notifier(settings(**overrides), store.record, store.finished, store.pending)
    n.send_once = receivers  # type: ignore[method-assign]
    return n


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


def test_retry_delay_doubles_up_to_the_cap_with_half_of_it_jittered():
    assert retry_delay(1, 0.5, 300, rand=lambda: 0.0) == 0.25
    assert retry_delay(1, 0.5, 300, rand=lambda: 1.0) == 0.5
    assert retry_delay(4, 0.5, 300, rand=lambda: 1.0) == 4.0
    assert [retry_delay(f, 0.5, 300, rand=lambda: 1.0) for f in (10, 11, 50_000)] == [256, 300, 300]
    assert all(150 <= retry_delay(30, 0.5, 300) <= 300 for _ in range(100))


async def test_a_receiver_down_then_back_gets_the_alert_once(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store, receivers = FakeStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0 if n <= 3 else 200  # refused three times, then up
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([alert()])
    await until(n, lambda: (4, "sent") in store.outcomes("ops"))
    await settle(n)

    assert store.outcomes("ops") == [(1, "retry"), (2, "retry"), (3, "retry"), (4, "sent")]
    assert receivers.to("ops") == [("f1", "firing")] * 4
    assert store.rows[0].error.startswith("ConnectionRefusedError")
    lines = [r.getMessage() for r in caplog.records]
    assert sum("retrying until" in line for line in lines) == 1, lines
    assert sum("delivered to ops at attempt 4" in line for line in lines) == 1, lines
    assert gauge("logweir_webhook_pending_deliveries", "ops") is None
    await n.close()


async def test_failed_only_once_the_give_up_time_has_passed(caplog):
    store, receivers = FakeStore(), Receivers()
    receivers.answer["ops"] = lambda n: 503
    n = notifier(store, receivers, webhook_give_up_after_seconds=0.3)
    queued = time.time()
    await n.queue([alert()])
    await until(n, lambda: any(o == "failed" for _, o in store.outcomes("ops")))
    await settle(n)

    *retries, (attempts, last) = store.outcomes("ops")
    assert last == "failed" and {o for _, o in retries} == {"retry"} and attempts > 3
    assert time.time() - queued >= 0.3
    assert store.rows[-1].error == "HTTP 503: "
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"alert unit-rule (firing) not delivered to ops: gave up 0 s after it was raised, "
        f"after {attempts} attempts: HTTP 503: "
    ]
    await n.close()


async def test_while_retrying_the_pending_gauges_say_how_many_and_how_old():
    store, receivers = FakeStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0
    n = notifier(store, receivers)
    await n.queue([alert("f1"), alert("f2")])
    await until(n, lambda: len(store.rows) >= 4)
    assert gauge("logweir_webhook_pending_deliveries", "ops") == 2
    assert 0 <= (gauge("logweir_webhook_oldest_pending_seconds", "ops") or -1) < 5
    await n.tick(time.time(), leading=False)  # another worker leads: no stale gauges here
    assert gauge("logweir_webhook_pending_deliveries", "ops") is None
    await n.close()


async def test_a_new_leader_resumes_what_was_queued_and_counts_on(caplog):
    caplog.set_level(logging.INFO, "logweir.alerting")
    store, receivers = FakeStore(), Receivers()
    store.queued = [Queued(alert(), "ops", time.time() - 600, 3)]
    n = notifier(store, receivers)
    await until(n, lambda: bool(store.rows))
    await settle(n)

    assert store.outcomes("ops") == [(4, "sent")]
    assert receivers.to("ops") == [("f1", "firing")]
    assert "resumed 1 pending webhook deliveries (ops: 1)" in caplog.messages
    await n.close()


async def test_a_worker_that_stops_leading_stops_delivering_and_the_next_leader_goes_on():
    store, receivers = FakeStore(), Receivers()
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
    assert sum(r.outcome == "sent" for r in store.rows if r.target == "ops") == 1
    assert receivers.to("slow") == [("f1", "firing")]  # sent by the old leader, not again
    await old.close()
    await new.close()


async def test_a_hung_receiver_does_not_hold_another_target():
    store, receivers = FakeStore(), Receivers()
    receivers.hang["slow"] = asyncio.Event()
    n = notifier(store, receivers)
    await n.queue([alert()])
    await until(n, lambda: store.outcomes("ops") == [(1, "sent")])
    assert store.outcomes("slow") == []  # still hanging
    receivers.hang["slow"].set()
    await until(n, lambda: store.outcomes("slow") == [(1, "sent")])
    await n.close()


async def test_notifications_of_one_alert_reach_a_target_in_order():
    store, receivers = FakeStore(), Receivers()
    up = {"now": False}
    receivers.answer["ops"] = lambda n: 200 if up["now"] else 0
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([alert("f1", "firing")])
    await until(n, lambda: len(store.rows) >= 2)
    await n.queue([alert("f1", "resolved"), alert("f2", "firing")])
    await settle(n)
    assert ("f1", "resolved") not in receivers.to("ops")  # waits behind its firing
    assert ("f2", "firing") in receivers.to("ops")  # another alert does not wait
    up["now"] = True
    await until(n, lambda: sum(r.outcome == "sent" for r in store.rows) == 3)
    await settle(n)
    delivered = [(r.alert.fingerprint, r.alert.status) for r in store.rows if r.outcome == "sent"]
    assert delivered.index(("f1", "firing")) < delivered.index(("f1", "resolved"))
    assert sorted(delivered) == [("f1", "firing"), ("f1", "resolved"), ("f2", "firing")]
    await n.close()


async def test_a_notification_already_sent_is_not_sent_again():
    store, receivers = FakeStore(), Receivers()
    a = alert()
    store.rows.append(Attempt(a, "ops", 1, "sent", 200, "", 3))
    n = notifier(store, receivers)
    await n.queue([a])
    await until(n, lambda: len(receivers.got) == 1)
    await settle(n)
    assert receivers.to("ops") == [] and receivers.to("slow") == [("f1", "firing")]
    await n.close()


async def test_a_resume_that_read_before_a_send_was_recorded_does_not_send_it_again():
    store, receivers = FakeStore(), Receivers()
    receivers.hang["ops"] = asyncio.Event()
    a = alert()
    store.queued = [Queued(a, "ops", time.time(), 0)]
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.queue([a])  # the first attempt hangs

    async def send_lands_meanwhile() -> None:
        receivers.hang["ops"].set()
        while not store.rows:
            await asyncio.sleep(0.001)

    store.before_pending = send_lands_meanwhile  # the snapshot still lists it as pending
    await until(n, lambda: bool(store.rows))
    await settle(n)
    assert store.outcomes("ops") == [(1, "sent")] and len(receivers.got) == 1
    await n.close()


async def test_a_sent_outcome_clickhouse_did_not_take_is_kept_and_never_sent_again(caplog):
    store, receivers = FakeStore(), Receivers()
    a = alert()
    store.queued = [Queued(a, "ops", time.time(), 0)]
    store.recording_fails = True
    n = notifier(store, receivers, webhooks=[WebhookTarget(name="ops", url="http://x/ops")])
    await n.tick(time.time(), leading=True)
    await until(n, lambda: len(receivers.got) == 1)
    # Leadership lost and won back: the queue in ClickHouse still says pending.
    await n.tick(time.time(), leading=False)
    await settle(n)
    assert len(receivers.got) == 1 and store.rows == []
    store.recording_fails = False
    await until(n, lambda: bool(store.rows))
    assert store.outcomes("ops") == [(1, "sent")] and len(receivers.got) == 1
    warnings = [r for r in caplog.records if "not recorded" in r.getMessage()]
    assert len(warnings) == 1
    await n.close()


async def test_a_delivery_to_a_target_no_longer_configured_is_given_up():
    store, receivers = FakeStore(), Receivers()
    store.queued = [Queued(alert(), "gone", time.time() - 60, 2)]
    n = notifier(store, receivers)
    await until(n, lambda: bool(store.rows))
    ((attempt, outcome),) = store.outcomes("gone")
    assert (attempt, outcome) == (2, "failed")
    assert "no longer in LOGWEIR_WEBHOOKS" in store.rows[0].error and receivers.got == []
    await n.close()


async def test_close_lets_an_attempt_under_way_finish_and_records_it():
    store, receivers = FakeStore(), Receivers()
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
    store, receivers = FakeStore(), Receivers()
    receivers.answer["ops"] = lambda n: 0
    store.queued = [Queued(alert(), "ops", time.time() - 3600, 7)]
    n = notifier(
        store,
        receivers,
        webhooks=[WebhookTarget(name="ops", url="http://x/ops")],
        webhook_give_up_after_seconds=60,
    )
    await until(n, lambda: bool(store.rows))
    await settle(n)
    assert store.outcomes("ops") == [(8, "failed")] and len(receivers.got) == 1
    await n.close()
