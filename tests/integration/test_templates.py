"""Learnt templates on the real stack: two workers that each see an event first under other
words, and a restart, give every event one id in ClickHouse, in reports and in alert counts."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipeline.alerting.counts import Query, window_counts
from pipeline.alerting.match import Match
from pipeline.alerting.windows import Windowing
from pipeline.bench.producer import produce
from pipeline.enrich.store import WITH_CANONICAL, canonical_id
from pipeline.query import reports
from tests.support.stack import WorkerProcess, run, wait_for

pytestmark = pytest.mark.integration

EVENTS = {
    "failed": "Failed password for invalid user {u} from 10.0.{n}.1 port {n}22 ssh2",
    "accepted": "Accepted password for {u} from 10.1.{n}.7 port {n}01 ssh2",
    "opened": "session opened for user {u} by (uid={n})",
    "invalid": "Invalid user {u} from 10.2.{n}.3",
}
# Each partition carries other users: each worker sees every event first under other words.
USERS = [
    ["root", "admin", "oracle"],
    ["test", "guest", "pi"],
    ["webmaster", "ubuntu", "git"],
    ["nagios", "deploy", "support"],
]
PARTITIONS = 4


def event_of(body: str) -> str:
    for event, pattern in EVENTS.items():
        if re.fullmatch(
            re.escape(pattern).replace(r"\{u\}", r"\S+").replace(r"\{n\}", r"\d+"), body
        ):
            return event
    raise AssertionError(f"not a test line: {body}")


def messages(count: int, users: list[list[str]], offset: int = 0) -> list[tuple[None, bytes]]:
    """Message i goes to partition i % 4 (`spread`), with that partition's users."""
    out = []
    for i in range(count):
        event = sorted(EVENTS)[(i // PARTITIONS) % len(EVENTS)]
        user = users[i % PARTITIONS][(i // (PARTITIONS * len(EVENTS))) % 3]
        msg = EVENTS[event].format(u=user, n=(offset + i) % 97 + 1)
        line = {
            "ts": datetime.now(UTC).isoformat(),
            "level": "error",
            "service": "auth",
            "msg": msg,
        }
        out.append((None, orjson.dumps(line)))
    return out


def stored(clickhouse) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """(body, template id, the id it stands for now) of every row."""
    return clickhouse.query(
        f"{WITH_CANONICAL} SELECT Body, TemplateId, {canonical_id()} FROM otel_logs"
    ).result_rows


def ids_by_event(rows: list[tuple[str, int, int]], column: int) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for row in rows:
        found.setdefault(event_of(row[0]), set()).add(row[column])
    return found


def newest_ids(clickhouse, count: int) -> dict[str, set[int]]:  # type: ignore[no-untyped-def]
    """The template ids of each event among the `count` newest rows (by event time)."""
    rows = clickhouse.query(
        f"SELECT Body, TemplateId FROM otel_logs ORDER BY Timestamp DESC LIMIT {count}"
    ).result_rows
    found: dict[str, set[int]] = {}
    for body, template_id in rows:
        found.setdefault(event_of(body), set()).add(template_id)
    return found


def assigned(worker: WorkerProcess) -> bool:
    log = worker.log_path
    text = log.read_text(errors="replace") if log.exists() else ""
    return re.search(r"ingest partitions assigned: (?!none)", text) is not None


def test_two_workers_and_a_restart_give_each_event_one_id(pipeline_settings, clickhouse):
    settings = pipeline_settings.model_copy(
        update={"metrics_port": 0, "template_sync_seconds": 1.0}
    )
    runs = settings.state_dir / "runs" / settings.app_id
    workers = [WorkerProcess(settings, runs / f"worker-{n}.log") for n in (1, 2)]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            wait_for(lambda w=worker: assigned(w), 90, "both workers to own partitions", worker)  # type: ignore[misc]
        first = run(produce(settings, messages(400, USERS), spread=True))
        wait_for(lambda: len(stored(clickhouse)) >= first.count, 90, "the first rows", workers[0])

        # Both workers gave each event an id of their own at first; once they have read each
        # other's clusters, every id of an event stands for one.
        def converged() -> bool:
            found = ids_by_event(stored(clickhouse), 2)
            return len(found) == len(EVENTS) and all(len(ids) == 1 for ids in found.values())

        wait_for(converged, 30, "the ids of each event to stand for one id", workers[0])
        canonical = {event: ids.pop() for event, ids in ids_by_event(stored(clickhouse), 2).items()}
        assert len(set(canonical.values())) == len(EVENTS)

        # From now on both workers store that id, whoever comes first (each has read the
        # other's clusters by its next look: probe until a batch shows it).
        total = first.count
        probes = iter(range(1, 1000))

        def next_batch_carries_the_ids() -> bool:
            nonlocal total
            sent = run(produce(settings, messages(40, USERS[::-1], next(probes)), spread=True))
            total += sent.count
            wait_for(lambda: len(stored(clickhouse)) >= total, 60, "a probe's rows", workers[0])
            return newest_ids(clickhouse, sent.count) == {
                event: {canonical[event]} for event in EVENTS
            }

        wait_for(next_batch_carries_the_ids, 60, "new rows to carry one id per event", workers[0])

        # A restarted worker carries on with the same ids, whatever lines come first.
        for worker in workers:
            worker.stop()
        again = WorkerProcess(settings, runs / "worker-3.log")
        again.start()
        workers = [again]
        fresh = [["zed", "yak", "xyz"]] * PARTITIONS
        third = run(produce(settings, messages(200, fresh, 2), spread=True))
        wait_for(
            lambda: len(stored(clickhouse)) >= total + third.count, 90, "the third rows", again
        )
        assert newest_ids(clickhouse, third.count) == {
            event: {canonical[event]} for event in EVENTS
        }

        # Reports and alert counts see one template per event.
        now = datetime.now(UTC)
        report = reports.find("error-templates")
        params = reports.Params(since=now - timedelta(hours=1), until=now + timedelta(minutes=1))  # type: ignore[call-arg]
        result = reports.run(clickhouse, report, params)
        by_id = {row[1]: row[3] for row in result.rows}
        assert by_id == {
            canonical[event]: sum(1 for r in stored(clickhouse) if event_of(r[0]) == event)
            for event in EVENTS
        }
        top = reports.run(
            clickhouse,
            reports.find("top"),
            reports.Params(  # type: ignore[call-arg]
                since=now - timedelta(hours=1), until=now + timedelta(minutes=1), by="TemplateId"
            ),
        )
        assert {int(row[0]): row[1] for row in top.rows} == by_id
        # with each template's most general text, whichever of its rows came first
        assert {row[2] for row in result.rows} == {
            "Failed password for invalid user <*> from <*> port <*> ssh2",
            "Accepted password for <*> from <*> port <*> ssh2",
            "session opened for user <*> by (uid=<*>)",
            "Invalid user <*> from <*>",
        }
        (seen,) = window_counts(
            clickhouse,
            [
                Query(
                    Match(),
                    ("template",),
                    Windowing(3600, 3600, 0),
                    int(time.time()) - 3600,
                    time.time(),
                )
            ],
        )
        assert {dict(group)["template"] for group in seen.series} == {
            f"{i:016x}" for i in canonical.values()
        }
        # and alerts name each with its most general text too
        assert set(seen.template_texts.values()) == {row[2] for row in result.rows}
    finally:
        for worker in workers:
            worker.stop()
