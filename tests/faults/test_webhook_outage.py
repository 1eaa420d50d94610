"""Webhook deliveries outlast a receiver down for minutes and a worker restarted meanwhile.

The receiver is really down (nothing listens on its port), then comes back on the same port.
"""

from __future__ import annotations

import time

import pytest

from pipeline.alerting.notify.webhooks import DELIVERY_HEADER
from pipeline.bench.producer import produce
from pipeline.cli.status import scrape, worker_url
from pipeline.settings import WebhookTarget
from pipeline.stack.process import free_port
from tests.support.alerting import lines, start_worker
from tests.support.receiver import Receiver
from tests.support.stack import run, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_SECONDS = 120  # the "done when": a receiver down for 2 minutes
BACKOFF_MAX = 5.0


def down_receiver() -> tuple[Receiver, int]:
    """A receiver started once for its port, then stopped: connections are refused."""
    receiver = Receiver()
    receiver.start()
    receiver.stop()
    return receiver, receiver.port


@pytest.fixture
def receiver_back():
    """Starts a receiver on a port (where one was down); stopped after the test."""
    started: list[Receiver] = []

    def start(port: int) -> Receiver:
        receiver = Receiver(port=port)
        receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def outcomes(client, status: str) -> list[str]:
    return [
        row[0]
        for row in client.query(
            "SELECT Outcome FROM alert_deliveries WHERE Status = {s:String} "
            "ORDER BY AttemptTime, Attempt",
            parameters={"s": status},
        ).result_rows
    ]


def pending(settings) -> float:
    return scrape(worker_url(settings))[0].total("logweir_webhook_pending_deliveries")


def start(stack, tmp_path, receiver, port):
    return start_worker(
        stack,
        tmp_path,
        receiver,
        webhooks=[WebhookTarget(name="ops", url=f"http://127.0.0.1:{port}/ops")],
        webhook_give_up_after_seconds=3600,
        webhook_backoff_max_seconds=BACKOFF_MAX,
        metrics_port=free_port(),
    )


def test_a_receiver_down_for_two_minutes_gets_the_alert_once_it_is_back(
    stack, tmp_path, receiver_back
):
    receiver, port = down_receiver()
    down_since = time.monotonic()
    settings, worker, client = start(stack, tmp_path, receiver, port)
    try:
        run(produce(settings, lines("burst-down", 40)))
        wait_for(lambda: "retry" in outcomes(client, "firing"), 30, "a failed attempt", worker)
        wait_for(lambda: pending(settings) >= 1, 10, "the pending gauge", worker)
        # The alert resolves while the receiver is down: queued behind its firing.
        wait_for(lambda: pending(settings) == 2, 60, "the resolved queued too", worker)

        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))  # the outage
        assert pending(settings) == 2
        assert "sent" not in outcomes(client, "firing") + outcomes(client, "resolved")
        back = receiver_back(port)
        wait_for(
            lambda: "sent" in outcomes(client, "firing") and "sent" in outcomes(client, "resolved"),
            3 * BACKOFF_MAX + 10,
            "both notifications sent after the receiver came back",
            worker,
        )
        wait_for(lambda: pending(settings) == 0, 10, "nothing pending", worker)

        # Once each, firing first, never given up; the resolved was not tried before its firing.
        assert [r.json()["status"] for r in back.on("/ops")] == ["firing", "resolved"]
        *retries, last = outcomes(client, "firing")
        assert last == "sent" and set(retries) == {"retry"}, retries
        assert outcomes(client, "resolved") == ["sent"]
        # Retried all along the outage, never more than the backoff cap apart.
        ((tries, longest_gap_ms),) = client.query(
            "SELECT count(), max(gap) FROM (SELECT dateDiff('millisecond', "
            "lagInFrame(AttemptTime) OVER (ORDER BY AttemptTime), AttemptTime) AS gap, "
            "row_number() OVER (ORDER BY AttemptTime) AS n "
            "FROM alert_deliveries WHERE Status = 'firing') WHERE n > 1"
        ).result_rows
        assert tries >= OUTAGE_SECONDS / BACKOFF_MAX / 2
        assert longest_gap_ms <= (BACKOFF_MAX + 1.5) * 1000
        # The receiver can tell repeats by the delivery id, the same on every attempt.
        (firing_id,) = {
            row[0]
            for row in client.query(
                "SELECT DeliveryId FROM alert_deliveries WHERE Status = 'firing'"
            ).result_rows
        }
        assert back.on("/ops")[0].headers[DELIVERY_HEADER] == firing_id
        # Said once, not per attempt.
        log = worker.log_path.read_text()
        assert log.count("retrying until") == 1, worker.log_tail()
        assert log.count("delivered to ops at attempt") == 1, worker.log_tail()
    finally:
        worker.stop()


@pytest.mark.parametrize("restart", ["kill", "stop"])
def test_a_delivery_pending_at_a_worker_restart_is_delivered_after_it_once(
    stack, tmp_path, receiver_back, restart
):
    receiver, port = down_receiver()
    settings, worker, client = start(stack, tmp_path, receiver, port)
    try:
        run(produce(settings, lines("burst-restart", 40)))
        wait_for(lambda: "retry" in outcomes(client, "firing"), 30, "a failed attempt", worker)
        getattr(worker, restart)()  # SIGKILL, or SIGTERM (a clean stop)
        assert "sent" not in outcomes(client, "firing")
        back = receiver_back(port)
        worker.start()
        wait_for(
            lambda: "sent" in outcomes(client, "firing") and "sent" in outcomes(client, "resolved"),
            90,
            "firing and resolved sent by the restarted worker",
            worker,
        )
        wait_for(lambda: pending(settings) == 0, 10, "nothing pending", worker)

        assert [r.json()["status"] for r in back.on("/ops")] == ["firing", "resolved"]
        assert outcomes(client, "firing").count("sent") == 1
        assert outcomes(client, "resolved").count("sent") == 1
        assert "resumed 1 pending webhook deliveries (ops: 1)" in worker.log_path.read_text()
    finally:
        worker.stop()
