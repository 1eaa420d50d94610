"""Bursts through the real broker → alerts → webhooks on a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import time

import orjson
import pytest

from pipeline.bench.producer import produce
from pipeline.settings import WebhookTarget
from tests.support.alerting import SECRET, WINDOW, deliveries, lines, start_worker
from tests.support.stack import run, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Still imported from here by tests/faults/test_poison_and_receivers.py (to move to support).
__all__ = ["lines", "start_worker"]


def test_burst_fires_once_per_group_and_resolves_once(stack, tmp_path, receiver):
    settings, worker, client = start_worker(stack, tmp_path, receiver)
    try:
        # Under threshold for a calm service, in every window, all along.
        run(produce(settings, lines("burst-calm", 10)))
        run(produce(settings, lines("burst-a", 60) + lines("burst-b", 45)))
        produced_at = time.time()
        wait_for(
            lambda: len(receiver.on("/generic")) >= 2, WINDOW + 2 + 3, "two firing alerts", worker
        )
        first = [r.json() for r in receiver.on("/generic")]
        assert sorted((a["status"], a["group"]["service"]) for a in first) == [
            ("firing", "burst-a"),
            ("firing", "burst-b"),
        ]
        assert max(r.at for r in receiver.on("/generic")) - produced_at <= WINDOW + 2 + 1.5

        # Signed: HMAC-SHA256 over "timestamp.body".
        for r in receiver.on("/generic"):
            ts = r.headers["X-Logweir-Timestamp"]
            expected = hmac.new(
                SECRET.encode(), ts.encode() + b"." + r.body, hashlib.sha256
            ).hexdigest()
            assert r.headers["X-Logweir-Signature"] == f"sha256={expected}"

        # Calm: each group resolves once; nothing more fires.
        wait_for(
            lambda: len(receiver.on("/generic")) >= 4, 4 * WINDOW + 10, "resolved alerts", worker
        )
        time.sleep(2 * WINDOW)
        statuses = sorted(
            (r.json()["status"], r.json()["group"]["service"]) for r in receiver.on("/generic")
        )
        assert statuses == [
            ("firing", "burst-a"),
            ("firing", "burst-b"),
            ("resolved", "burst-a"),
            ("resolved", "burst-b"),
        ]

        slack = receiver.on("/slack")[0].json()
        assert "burst-" in slack["text"] and slack["blocks"][0]["type"] == "header"
        am = [r.json() for r in receiver.on("/am")]
        assert len(am) == 4 and all(p["version"] == "4" for p in am)
        fired = next(p for p in am if p["status"] == "firing")
        assert fired["alerts"][0]["labels"]["alertname"] == "burst-errors"
        assert fired["groupLabels"]["service"].startswith("burst-")
        assert fired["alerts"][0]["fingerprint"]

        events = client.query("SELECT Status, count() FROM alerts GROUP BY Status").result_rows
        assert dict(events) == {"firing": 2, "resolved": 2}
        sent = client.query(
            "SELECT Target, count() FROM alert_deliveries WHERE Outcome = 'sent' GROUP BY Target"
        ).result_rows
        assert dict(sent) == {"generic": 4, "slack": 4, "am": 4}
    finally:
        worker.stop()


def test_a_failing_receiver_is_retried_and_a_dead_one_is_recorded(stack, tmp_path, receiver):
    receiver.respond = lambda path, n: 500 if n == 1 else 200
    settings, worker, client = start_worker(
        stack,
        tmp_path,
        receiver,
        webhooks=[
            WebhookTarget(name="flaky", url=receiver.url("/flaky")),
            # Nothing listens on port 9: connection refused on every attempt.
            WebhookTarget(name="dead", url="http://127.0.0.1:9/hook"),
        ],
    )
    try:
        run(produce(settings, lines("burst-x", 40)))
        wait_for(
            lambda: deliveries(client, "sent", "failed") >= 2,
            30,
            "both deliveries finished",
            worker,
        )
        flaky = [r for r in receiver.on("/flaky") if r.json()["status"] == "firing"]
        assert len(flaky) == 2  # one 500, then the retry got 200
        assert flaky[0].body == flaky[1].body, [r.body for r in receiver.requests]
        outcomes = client.query(
            "SELECT Target, groupArray(Outcome) FROM (SELECT * FROM alert_deliveries "
            "WHERE Status = 'firing' ORDER BY AttemptTime) GROUP BY Target"
        ).result_rows
        outcomes = dict(outcomes)
        assert outcomes["flaky"] == ["retry", "sent"]
        # Retried until the give-up time (4 s), then failed once.
        *retries, last = outcomes["dead"]
        assert len(retries) >= 3 and set(retries) == {"retry"} and last == "failed", outcomes
        ((retried_for,),) = client.query(
            "SELECT dateDiff('millisecond', min(AttemptTime), max(AttemptTime)) "
            "FROM alert_deliveries WHERE Target = 'dead' AND Status = 'firing'"
        ).result_rows
        assert retried_for >= 3000

        # The pipeline kept going meanwhile.
        more = run(produce(settings, lines("after", 20, "info")))
        wait_for(
            lambda: (
                client.query(
                    "SELECT count() FROM otel_logs WHERE ServiceName = 'after'"
                ).result_rows[0][0]
                == 20
            ),
            30,
            "rows after the dead receiver",
            worker,
        )
        assert more.count == 20
    finally:
        worker.stop()


def test_window_counts_survive_a_worker_kill_without_double_counting(stack, tmp_path, receiver):
    settings, worker, client = start_worker(stack, tmp_path, receiver, webhooks=[])
    try:
        run(produce(settings, lines("counted", 3000, "info")))
        wait_for(
            lambda: (
                client.query(
                    "SELECT count() FROM otel_logs WHERE ServiceName = 'counted'"
                ).result_rows[0][0]
                > 0
            ),
            30,
            "first rows",
            worker,
        )
        worker.kill()
        run(produce(settings, lines("counted", 500, "info")))
        worker.start()
        wait_for(
            lambda: (
                client.query(
                    "SELECT count() FROM otel_logs WHERE ServiceName = 'counted'"
                ).result_rows[0][0]
                >= 3500
            ),
            60,
            "all rows after restart",
            worker,
        )
        time.sleep(1)
        total = client.query(
            "SELECT sum(Count) FROM log_window_counts WHERE ServiceName = 'counted'"
        ).result_rows[0][0]
        assert total == 3500
    finally:
        worker.stop()


def test_alerts_test_command_sends_a_sample_to_the_target(receiver):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "LOGWEIR_WEBHOOKS": orjson.dumps(
            [{"name": "ops", "url": receiver.url("/ops"), "kind": "alertmanager"}]
        ).decode(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "alerts", "test", "--target", "ops"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HTTP 200" in result.stdout
    (request,) = receiver.on("/ops")
    assert request.json()["alerts"][0]["labels"]["alertname"] == "logweir-test"
