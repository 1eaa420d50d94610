"""The tail's filters (SQL and parameters) and its cursor, against a fake table of parts.

The fake stands for what the cursor relies on in ClickHouse: parts numbered by one counter in
the order they become visible, merges that join adjacent block ranges, and the follower's
queries answered with the rules its SQL states. The SQL itself runs against a real ClickHouse
in tests/integration/test_tail.py.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from pipeline.query.tail import (
    Cursor,
    Filters,
    Follower,
    TailFilterError,
    cursor,
    follow_batches,
    parse_attribute,
    parse_query,
    parse_severity,
    parse_since,
    stream,
)

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


# --- Filters -------------------------------------------------------------------------------------


def test_no_filter_no_condition():
    assert Filters().sql() == ([], {})


def test_each_filter_is_a_fixed_fragment_with_its_value_as_a_parameter():
    hostile = "x' OR '1'='1"
    conditions, parameters = Filters(
        service=hostile,
        min_severity=17,
        contains=hostile,
        regex="timeout|refused",
        template_id=42,
        attributes=(("http.route", hostile), ("k", "")),
    ).sql()
    sql = "\n".join(conditions)
    assert hostile not in sql and "42" not in sql and "timeout" not in sql
    assert "ServiceName = {service:String}" in sql
    assert "SeverityNumber >= {min_severity:UInt8}" in sql
    assert "position(Body, {contains:String}) > 0" in sql
    assert "match(Body, {regex:String})" in sql
    assert "transform({template_id:UInt64}, mapKeys(_canonical)" in sql
    assert parameters == {
        "service": hostile,
        "min_severity": 17,
        "contains": hostile,
        "regex": "timeout|refused",
        "template_id": 42,
        "attribute_keys": ["http.route", "k"],
        "attribute_values": [hostile, ""],
    }


def test_every_placeholder_of_a_poll_has_a_value():
    filters = Filters("api", 9, "a", "b", 1, (("k", "v"),))
    sql, parameters = cursor._select(cursor._NEW, filters, cursor._ORDER)
    parameters |= Cursor(0, 0).parameters(5) | {"limit": 1}
    assert set(re.findall(r"\{(\w+):", sql)) == set(parameters)
    sql, parameters = cursor._select(cursor._HISTORY, filters, cursor._ORDER)
    parameters |= Cursor(0, 0).parameters(0) | {"limit": 1, "window_start": T0, "window_end": T0}
    assert set(re.findall(r"\{(\w+):", sql)) <= set(parameters)


@pytest.mark.parametrize(("text", "number"), [("ERROR", 17), ("warn", 13), ("fatal", 21), ("9", 9)])
def test_severity(text, number):
    assert parse_severity(text) == number


@pytest.mark.parametrize("text", ["0", "25", "loud", ""])
def test_unknown_severity_names_the_levels(text):
    with pytest.raises(TailFilterError, match="TRACE, DEBUG, INFO, WARN, ERROR or FATAL"):
        parse_severity(text)


def test_attribute_is_key_equals_value():
    assert parse_attribute("url=/a?b=c") == ("url", "/a?b=c")
    assert parse_attribute("k=") == ("k", "")
    for bad in ("novalue", "=v"):
        with pytest.raises(TailFilterError, match="key=value"):
            parse_attribute(bad)


def test_a_regex_clickhouse_refuses_is_a_filter_error():
    table = FakeTable()
    follower = Follower(table, Filters(regex="(unclosed"))  # type: ignore[arg-type]
    with pytest.raises(TailFilterError, match=r"regex '\(unclosed' is not one ClickHouse"):
        follower.start(now=T0)


def test_since():
    assert parse_since("now") is None and parse_since("") is None
    assert parse_since("15m", now=T0) == T0 - timedelta(minutes=15)
    with pytest.raises(TailFilterError, match="since: cannot read"):
        parse_since("yesterday")


class _MultiDict(dict):
    """aiohttp's request.query: one value per name by item, every value by getall."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def getall(self, key: str, default: list[str]) -> list[str]:
        return [v for k, v in self.pairs if k == key] or default


def test_query_parameters_of_the_stream():
    query = _MultiDict(
        [("service", "api"), ("severity", "warn"), ("attribute", "a=1"), ("attribute", "b=2")]
    )
    filters, since = parse_query(query)
    assert filters == Filters(service="api", min_severity=13, attributes=(("a", "1"), ("b", "2")))
    assert since is None
    filters, since = parse_query({"template": "7", "since": "2026-03-04T11:00:00Z"})
    assert filters.template_id == 7 and since == T0 - timedelta(hours=1)
    with pytest.raises(TailFilterError, match="unknown parameter 'sevrity'"):
        parse_query({"sevrity": "error"})
    with pytest.raises(TailFilterError, match="not a template id"):
        parse_query({"template": "abc"})


# --- A fake table of parts -----------------------------------------------------------------------


@dataclass
class FakeRow:
    key: tuple[str, int, int]
    coordinate: tuple[int, int]
    timestamp: datetime
    body: str

    def values(self) -> tuple[Any, ...]:
        nanos = int(self.timestamp.timestamp()) * 1_000_000_000
        topic, partition, incarnation = self.key
        offset, index = self.coordinate
        return (nanos, "svc", "INFO", 9, self.body, 0, "", "", {}, topic, partition, incarnation,
                offset, index, self.day)  # fmt: skip

    @property
    def day(self) -> str:
        """otel_logs's partition id: PARTITION BY toDate(TimestampTime)."""
        return self.timestamp.strftime("%Y%m%d")


@dataclass
class Part:
    min_block: int
    max_block: int
    rows: list[FakeRow]
    settled: bool = False  # last written over SETTLE_SECONDS ago

    @property
    def day(self) -> str:
        return self.rows[0].day


@dataclass
class FakeTable:
    """otel_logs as the cursor sees it: parts, block numbers, merges, the progress marks."""

    parts: list[Part] = field(default_factory=list)
    block: int = 0
    down: bool = False
    progress: dict[tuple[str, int, int], int] = field(default_factory=dict)  # ingest_progress
    in_flight: list[FakeRow] = field(default_factory=list)  # in parts, not yet in progress

    def insert(self, *rows: FakeRow, finished: bool = True) -> None:
        """One part (one block) holding `rows` of one day: what an insert makes per day
        partition, each made visible on its own. Not `finished`: the insert is still running,
        its rows visible in the part and not yet in ingest_progress (`finish`)."""
        assert len({r.day for r in rows}) == 1
        self.block += 1
        self.parts.append(Part(self.block, self.block, list(rows)))
        self.in_flight += rows
        if finished:
            self.finish()

    def finish(self) -> None:
        """The inserts still running end: ingest_progress holds their rows."""
        for r in self.in_flight:
            self.progress[r.key] = max(self.progress.get(r.key, 0), r.coordinate[0])
        self.in_flight = []

    def settle(self) -> None:
        """Time passes: every part now was last written over SETTLE_SECONDS ago."""
        for part in self.parts:
            part.settled = True

    def merge(self, last: int | None = None) -> None:
        """As ClickHouse's background merges: within each day partition, the `last` parts (all
        by default) become one holding the union of their block ranges."""
        for day in {p.day for p in self.parts}:
            parts = sorted((p for p in self.parts if p.day == day), key=lambda p: p.min_block)
            chosen = parts[-(last or len(parts)) :]
            merged = Part(
                chosen[0].min_block, chosen[-1].max_block, [r for p in chosen for r in p.rows]
            )
            self.parts = [p for p in self.parts if p not in chosen] + [merged]

    # What the follower calls of clickhouse-connect's Client.
    def query(self, sql: str, parameters: dict[str, Any], settings: dict[str, Any]) -> Any:
        assert settings == {"readonly": 1}
        if self.down:
            raise OperationalError("Error executing HTTP request: Connection refused")
        if sql == cursor._REGEX_CHECK:
            if parameters["regex"].count("(") != parameters["regex"].count(")"):
                raise DatabaseError(
                    "Code: 427. DB::Exception: cannot compile re2. (CANNOT_COMPILE_REGEXP)"
                )
            return _Result([(0,)])
        if sql == cursor._FLOOR:
            return _Result([(*k, o) for k, o in self.progress.items()])
        if sql == cursor._SETTLED_BLOCK:
            assert parameters == {"settle_seconds": cursor.SETTLE_SECONDS}
            settled = [p.max_block for p in self.parts if p.settled]
            return _Result([(max(settled, default=0),)])
        if sql == cursor._PARTS:
            after = parameters["read_through"]
            return _Result(
                sorted(
                    (p.min_block, p.max_block, len(p.rows))
                    for p in self.parts
                    if p.max_block > after
                )
            )
        if cursor._NEW in sql:
            return _Result(self._new(parameters))
        if cursor._HISTORY in sql:
            return _Result(self._history(parameters))
        raise AssertionError(f"unexpected query {sql}")

    def _new(self, p: dict[str, Any]) -> list[tuple[Any, ...]]:
        floor, marks = _coordinates(p, "floor"), _coordinates(p, "mark")
        found = [
            r
            for part in self.parts
            if part.max_block > p["read_through"] and part.min_block <= p["until_block"]
            for r in part.rows
            if (r.key not in floor or r.coordinate > floor[r.key])
            and (
                part.min_block > p["checked_through"]
                or (*r.key, part.day) not in marks
                or r.coordinate > marks[(*r.key, part.day)]
            )
        ]
        found.sort(key=lambda r: (r.key, r.coordinate))
        return [r.values() for r in found[: p["limit"]]]

    def _history(self, p: dict[str, Any]) -> list[tuple[Any, ...]]:
        floor = _coordinates(p, "floor")
        found = [
            r
            for part in self.parts
            for r in part.rows
            if p["window_start"] <= r.timestamp < p["window_end"]
            and r.key in floor
            and r.coordinate <= floor[r.key]
        ]
        found.sort(key=lambda r: (r.timestamp, r.key, r.coordinate))
        return [r.values() for r in found[: p["limit"]]]


def _coordinates(p: dict[str, Any], name: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    fields = ("topics", "partitions", "incarnations") + (("table_partitions",) * (name == "mark"))
    keys = zip(*(p[f"{name}_{f}"] for f in fields), strict=True)
    return {
        k: (o, i) for k, o, i in zip(keys, p[f"{name}_offsets"], p[f"{name}_indexes"], strict=True)
    }


@dataclass
class _Result:
    result_rows: list[tuple[Any, ...]]


def rows(partition: int, offsets: range, *, incarnation: int = 0, at: datetime = T0):
    key = ("logs.raw", partition, incarnation)
    return [FakeRow(key, (o, 0), at, f"p{partition}-{o}") for o in offsets]


def shown(follower: Follower, polls: int = 1) -> list[str]:
    return [r.body for _ in range(polls) for r in follower.poll()]


def started(table: FakeTable, **kwargs: Any) -> Follower:
    follower = Follower(table, Filters(), **kwargs)  # type: ignore[arg-type]
    follower.start(now=T0)
    return follower


# --- The cursor ----------------------------------------------------------------------------------


def test_rows_stored_before_the_start_are_not_shown_live():
    table = FakeTable()
    table.insert(*rows(0, range(3)))
    follower = started(table)
    table.insert(*rows(0, range(3, 5)))
    table.merge()  # the new part joins the old one before the poll
    assert shown(follower) == ["p0-3", "p0-4"]
    assert shown(follower) == []


def test_an_insert_still_running_at_the_start_is_shown_live_once():
    """Its part is visible before its ingest_progress row: above the floor, so not history,
    and in a block that had not settled, so the first poll reads it."""
    table = FakeTable()
    table.insert(*rows(0, range(3)))
    table.settle()
    table.insert(*rows(0, range(3, 5)))
    table.insert(*rows(0, range(5, 7)), finished=False)
    follower = started(table, since=T0 - timedelta(minutes=1))
    table.finish()
    history: list[str] = []
    while (batch := follower.history()) is not None:
        history += [r.body for r in batch]
    assert history == ["p0-0", "p0-1", "p0-2", "p0-3", "p0-4"]
    assert shown(follower) == ["p0-5", "p0-6"]
    table.insert(*rows(0, range(7, 8)))
    table.merge()
    assert shown(follower) == ["p0-7"]


def test_a_late_insert_with_an_old_event_time_is_shown():
    table = FakeTable()
    follower = started(table)
    table.insert(*rows(0, range(2)))
    assert shown(follower) == ["p0-0", "p0-1"]
    # Partition 1's batch comes later, with events a day old: a time cursor would skip it.
    table.insert(*rows(1, range(2), at=T0 - timedelta(days=1)))
    table.merge()
    assert shown(follower) == ["p1-0", "p1-1"]


def test_equal_timestamps_across_polls_are_each_shown_once():
    table = FakeTable()
    follower = started(table)
    seen: list[str] = []
    for start in range(0, 40, 10):
        table.insert(*rows(0, range(start, start + 5)), *rows(1, range(start, start + 5)))
        if start % 20:
            table.merge(last=2)
        seen += shown(follower)
    stored = [f"p{p}-{o}" for p in (0, 1) for o in range(40) if o % 10 < 5]
    assert sorted(seen) == sorted(stored)
    assert len(seen) == len(set(seen))


def test_a_new_incarnation_starts_again_at_offset_zero_and_is_shown():
    table = FakeTable()
    table.insert(*rows(3, range(10)))
    follower = started(table)
    table.insert(*rows(3, range(10, 12)))
    assert shown(follower) == ["p3-10", "p3-11"]
    # The broker lost its data: offsets 0… again, stored as incarnation 1.
    table.insert(*rows(3, range(0, 3), incarnation=1))
    table.merge()
    assert shown(follower) == ["p3-0", "p3-1", "p3-2"]
    table.insert(*rows(3, range(3, 4), incarnation=1))
    table.merge()
    assert shown(follower) == ["p3-3"]


def test_a_merge_between_polls_neither_repeats_nor_skips():
    table = FakeTable()
    follower = started(table)
    table.insert(*rows(0, range(0, 3)))
    table.insert(*rows(1, range(0, 3)))
    assert len(shown(follower)) == 6
    table.insert(*rows(0, range(3, 6)))
    table.merge(last=2)  # blocks 2..3: one read, one new
    table.insert(*rows(1, range(3, 4)))
    assert shown(follower) == ["p0-3", "p0-4", "p0-5", "p1-3"]
    table.merge()
    assert shown(follower) == []


def test_one_insert_split_over_two_days_shows_both_parts():
    # A batch with a late event makes a part per day, made visible one after the other: a poll
    # can fall between them, and the second part be merged into read ones before the next.
    yesterday = T0 - timedelta(days=1)
    table = FakeTable()
    follower = started(table)
    table.insert(*rows(0, range(0, 1), at=yesterday))
    assert shown(follower) == ["p0-0"]
    table.insert(*rows(0, range(2, 3)))  # the batch of offsets 1 and 2: today's part first
    assert shown(follower) == ["p0-2"]
    table.insert(*rows(0, range(1, 2), at=yesterday))  # then yesterday's
    table.merge()
    assert shown(follower) == ["p0-1"]  # out of order, but shown
    table.insert(*rows(0, range(3, 4), at=yesterday))
    table.merge()
    assert shown(follower) == ["p0-3"]


def test_a_poll_cut_by_its_limit_goes_on_where_it_stopped():
    table = FakeTable()
    follower = started(table, rows_per_poll=4)
    for partition in range(3):
        table.insert(*rows(partition, range(5)))
    table.merge()
    seen: list[str] = []
    while batch := follower.poll():
        seen += [r.body for r in batch]
        table.merge()
    expected = [f"p{p}-{o}" for p in range(3) for o in range(5)]
    assert seen == expected  # each once; each partition in order
    assert follower.caught_up


def test_a_poll_reads_only_parts_above_what_it_read():
    cursor = Cursor(read_through=10, checked_through=10)
    parts = [(11, 11, 3000), (12, 12, 3000), (13, 13, 3000)]
    assert cursor.until_block(parts, budget=5000) == 11
    assert cursor.until_block(parts, budget=6000) == 12
    assert cursor.until_block([(5, 20, 90000)], budget=5000) == 20  # at least one part
    cursor.advance([], until_block=12, complete=False)
    assert (cursor.read_through, cursor.checked_through) == (10, 12)
    cursor.advance([], until_block=12, complete=True)
    assert cursor.read_through == 12


def test_since_shows_history_by_time_then_live_rows_once():
    table = FakeTable()
    table.insert(*rows(0, range(0, 2), at=T0 - timedelta(minutes=30)))  # before since
    table.insert(*rows(0, range(2, 4), at=T0 - timedelta(minutes=5)))
    table.insert(*rows(1, range(0, 2), at=T0 - timedelta(minutes=6)))
    table.insert(*rows(2, range(0, 1), at=T0 + timedelta(seconds=2)))  # a clock ahead
    follower = started(table, since=T0 - timedelta(minutes=10))
    table.insert(*rows(1, range(2, 3), at=T0 - timedelta(minutes=20)))  # live, though older
    table.merge()
    history: list[str] = []
    while (batch := follower.history()) is not None:
        history += [r.body for r in batch]
    assert history == ["p1-0", "p1-1", "p0-2", "p0-3", "p2-0"]
    assert shown(follower) == ["p1-2"]


def test_follow_keeps_its_place_through_an_outage(monkeypatch):
    monkeypatch.setattr(stream, "RETRY_SECONDS", 0)
    table = FakeTable()
    reports: list[str | None] = []

    async def scenario() -> list[str]:
        seen: list[str] = []
        batches = follow_batches(
            lambda: table,  # type: ignore[arg-type,return-value]
            Filters(),
            poll_seconds=0,
            on_unavailable=reports.append,
        )
        await anext(batches)
        table.insert(*rows(0, range(3)))
        seen += [r.body for r in await anext(batches)]
        table.down = True
        table.insert(*rows(0, range(3, 5)))
        task = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0.05)
        assert not task.done()  # retrying, not failing
        table.down = False
        seen += [r.body for r in await task]
        await batches.aclose()
        return seen

    assert asyncio.run(scenario()) == ["p0-0", "p0-1", "p0-2", "p0-3", "p0-4"]
    assert len(reports) == 2 and "not answering" in str(reports[0]) and reports[1] is None
