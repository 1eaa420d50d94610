"""`logweir worker --processes 2` as one command, as a user runs it: both children in the
group own partitions, every event is stored once, one /health and one /metrics cover both, a
SIGKILLed child is started again and ingests, alerting has one leader, and a SIGTERM to the
supervisor stops every child."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.clickhouse import connect
from pipeline.settings import Settings
from pipeline.stack.child import Child
from pipeline.stack.process import free_port
from tests.support.alerting import RULES, WINDOW, lines
from tests.support.census import census, send_each, tagged
from tests.support.stack import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _owns(log: str, process: int) -> bool:
    return (
        re.search(rf"\[worker {process}\] .*ingest partitions assigned: (?!none)", log) is not None
    )


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            return orjson.loads(r.read())
    except urllib.error.HTTPError as exc:
        return orjson.loads(exc.read())
    except OSError:
        return None


def _metrics(port: int) -> dict[tuple[str, str], float]:
    """Every sample summed by (name, process)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, s.labels.get("process", ""))
            found[key] = found.get(key, 0.0) + s.value
    return found


def _ok_with_both(port: int, restarted: bool = False) -> bool:
    report = _health(port)
    if not report or report["status"] != "ok" or report["processes"] != 2:
        return False
    children = report["children"]
    return all(c["partitions"] > 0 for c in children.values()) and (
        not restarted or children["2"]["restarts"] == 1
    )


def _stored_by_process(port: int) -> dict[str, float]:
    metrics = _metrics(port)
    return {p: v for (name, p), v in metrics.items() if name == "logweir_stored_events_total"}


def _stored_once(client: Any, tag: str, count: int, supervisor: Child) -> None:
    wait_for(lambda: census(client, tag).ids >= count, 180, f"{count} {tag} events", supervisor)
    found = census(client, tag)
    assert (found.ids, found.duplicates, found.doubled_coordinates) == (count, 0, 0)


def _firing(client: Any) -> int:
    return int(
        client.query(
            "SELECT count() FROM alerts WHERE Rule = 'burst-errors' AND Status = 'firing'"
        ).result_rows[0][0]
    )


def test_two_processes_from_one_command(pipeline_settings: Settings, tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    port = free_port()
    settings = pipeline_settings.model_copy(
        update=dict(
            metrics_port=port,
            rules_file=rules_file,
            builtin_burst_rule=False,
            window_seconds=WINDOW,
            alert_lateness_seconds=1,
            alert_eval_interval_seconds=0.5,
            sink_linger_seconds=0.2,
        )
    )
    client = connect(settings)
    log_path = tmp_path / "supervisor.log"
    supervisor = Child(
        [sys.executable, "-m", "pipeline.cli", "worker", "--processes", "2"],
        log_path,
        {**os.environ, **settings.to_env()},
    ).start()
    try:
        for process in (1, 2):
            wait_for(
                lambda p=process: _owns(supervisor.log_text(), p),
                120,
                f"worker process {process} to own partitions",
                supervisor,
            )
        asyncio.run(send_each(settings, tagged("procs", 2000)))
        _stored_once(client, "procs", 2000, supervisor)

        wait_for(lambda: _ok_with_both(port), 120, "/health ok with two children", supervisor)
        # A process counts a batch once its insert has returned to it, a moment after the rows
        # are visible (a loaded host made that moment long enough for a scrape to see 0).
        wait_for(
            lambda: sum(_stored_by_process(port).values()) >= 2000,
            60,
            "the processes to count the events they stored",
            supervisor,
        )
        stored = _stored_by_process(port)
        assert set(stored) == {"1", "2"}
        assert sum(stored.values()) == 2000
        assert _metrics(port)[("logweir_worker_restarts_total", "2")] == 0

        # One leader: a burst that trips the rule is recorded firing once, not once per process.
        asyncio.run(send_each(settings, lines("burst-a", 60)))
        wait_for(lambda: _firing(client) >= 1, 120, "the burst alert", supervisor)

        # SIGKILL one child: it is started again, owns partitions, and nothing is lost or doubled.
        killed = _health(port)["children"]["2"]["pid"]
        os.kill(killed, signal.SIGKILL)
        wait_for(
            lambda: f"worker process 2 (pid {killed}) died" in supervisor.log_text(),
            60,
            "the supervisor to notice the killed child",
            supervisor,
        )
        asyncio.run(send_each(settings, tagged("procs", 2000, start=2000)))
        _stored_once(client, "procs", 4000, supervisor)
        wait_for(
            lambda: _ok_with_both(port, restarted=True),
            180,
            "/health ok with the restarted child owning partitions",
            supervisor,
        )
        report = _health(port)
        assert report is not None
        assert report["children"]["2"]["pid"] != killed
        assert _metrics(port)[("logweir_worker_restarts_total", "2")] == 1
        # Evaluated by one leader all along (the restart moved leadership at most).
        assert _firing(client) == 1
        pids = [c["pid"] for c in report["children"].values()]
    finally:
        supervisor.stop(grace_seconds=120)
    assert supervisor.proc is not None and supervisor.proc.returncode == 0, supervisor.log_tail()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "all worker processes stopped" in supervisor.log_text()
