"""Live tail: every new otel_logs row, once, in order per Kafka partition, for `logweir tail`
and the intake's `GET /v1/tail` (`follow`, `follow_batches`; `parse_query` for URL parameters).

Why not a time cursor. Rows become visible by insert, not by event time: the worker inserts one
batch per insert with the rows of several partitions, batches of different partitions are not
in time order, and a late event carries an old `Timestamp`. A cursor on `TimestampTime` either
skips a row inserted after a poll with an older time, or, with a look-back window, shows it twice
and still skips what is later than the window. The Kafka coordinates alone do not help either:
they are not in the table's key (ServiceName, TimestampTime, Timestamp), so "offset > cursor"
reads every part of the table on every poll.

What the cursor is. ClickHouse numbers the parts of a (non-replicated) MergeTree table: each
insert makes a part per table partition (per event day here), and each part's block number comes
from one counter per table, taken under the lock that makes the part visible; so blocks become
visible in number order, and a snapshot that holds block N holds every block below it. A merged
part is named `<partition>_<min block>_<max block>_<level>` and holds exactly the rows of the
blocks in that range, all of one day. The follower keeps:

- `read_through` (B): every block up to B has been read in full. A poll reads only the parts
  whose name's max block is above B (ClickHouse prunes parts on `_part` before reading), up to a
  bound U chosen from `system.parts` so one poll reads about `ROWS_PER_POLL` rows: no scans of
  old parts, whatever the rows' event times.
- `checked_through` (P ≥ B) and `marks`: per (topic, partition, incarnation, day), the Kafka
  coordinate (offset, event index) of the last row shown. A part whose min block is above P
  holds only blocks never read: all its rows are new. A part reaching down to P or below (a
  merge of new blocks into read ones, or blocks a cut-short poll read in part) may hold rows
  already shown: there a row is new only if its coordinate is above its mark. Within one day, a
  partition's rows become visible in offset order: one worker owns the partition, its batches
  are inserted one after another, and a batch's rows of one day are one part. So a row already
  shown is at or below its mark and an unshown one above it. (Across days that order does not
  hold: see below; hence a mark per day.)
- `floor`: per (topic, partition, incarnation), the highest offset stored when the tail started
  (`ingest_progress`, read before the parts are listed); rows at or below it are history, shown
  only by `since`, never live.

A poll lists the parts, reads the rows matching the filters that are new by the rules above,
ordered by (partition, coordinate) with a LIMIT; then the marks move to the last row shown, P to
U, and B to U only if the LIMIT did not cut the result. A cut poll showed a prefix of each
partition's new rows, so the rest is above the marks and the next poll finds it. Nothing is
skipped: a row becomes visible in a block above the B of every poll that ran before, so a later
poll reads it in a part above B, where it is new by block or by mark. Nothing is shown twice: a
shown row is at or below its mark, and every part that can hold it again reaches down to P.
Each poll's rows are interleaved by event time across partitions, each partition in its order.

Order across days. A batch holding a late event (another day) is stored as a part per day, and
ClickHouse makes those visible one after the other, not at once: a poll that falls between them
shows the later offsets of one day before the earlier offsets of the other, which the next poll
shows. Nothing is lost (the marks are per day) but, in that instant, a partition's rows come out
of offset order across the two days; within a day they never do.

History (`since`): the rows stored before the start (offsets at or below the floor) with
`Timestamp >= since`, by event time, in windows of time that the table's key prunes, before the
live rows.

Every value a user gives reaches ClickHouse as a server-side query parameter; the SQL is fixed
fragments chosen by which filters are set, run read-only.
"""

from __future__ import annotations

import asyncio
import heapq
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from pipeline.clickhouse import read_only
from pipeline.enrich.store import WITH_CANONICAL, canonical_id
from pipeline.errors import LogweirError, SinkUnavailable, first_line
from pipeline.parsing import severity
from pipeline.query.timerange import TimeRangeError, parse_time

POLL_SECONDS = 0.5
# Rows read by one poll, at most: bounds memory after a burst; the rest comes at once after.
ROWS_PER_POLL = 20_000
RETRY_SECONDS = 2.0
# History is read in windows of event time, the first this long; a window holding more than
# ROWS_PER_POLL rows is halved, one holding few doubled.
HISTORY_WINDOW = timedelta(minutes=1)
# The end of the last history window: DateTime's last second (TimestampTime is a DateTime).
_LAST_TIME = datetime(2106, 2, 7, tzinfo=UTC)
_LAST_INDEX = 2**32 - 1  # every event of an offset

Key = tuple[str, int, int]  # KafkaTopic, KafkaPartition, KafkaIncarnation
MarkKey = tuple[str, int, int, str]  # … and otel_logs's partition (day) of the row
Coordinate = tuple[int, int]  # KafkaOffset, KafkaEventIndex


class TailError(LogweirError):
    """The tail cannot go on: a query ClickHouse refused (not an outage, which is retried)."""


class TailFilterError(TailError):
    """A filter or `since` value that cannot be used; the message names the parameter."""


# --- Filters -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """Which rows to show; empty values match everything."""

    service: str = ""
    min_severity: int = 0
    contains: str = ""
    regex: str = ""
    template_id: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # LogAttributes key = value, all of them

    def sql(self) -> tuple[list[str], dict[str, Any]]:
        """SQL conditions (fixed fragments, one per filter set) and their parameter values."""
        conditions: list[str] = []
        parameters: dict[str, Any] = {}
        if self.service:
            conditions.append("ServiceName = {service:String}")
            parameters["service"] = self.service
        if self.min_severity:
            conditions.append("SeverityNumber >= {min_severity:UInt8}")
            parameters["min_severity"] = self.min_severity
        if self.contains:
            conditions.append("position(Body, {contains:String}) > 0")
            parameters["contains"] = self.contains
        if self.regex:
            conditions.append("match(Body, {regex:String})")
            parameters["regex"] = self.regex
        if self.template_id is not None:
            # An alias id and the id it became show the same rows, as in every report.
            conditions.append(f"{canonical_id()} = {canonical_id('{template_id:UInt64}')}")
            parameters["template_id"] = self.template_id
        if self.attributes:
            conditions.append(
                "arrayAll((k, v) -> mapContains(LogAttributes, k) AND LogAttributes[k] = v, "
                "{attribute_keys:Array(String)}, {attribute_values:Array(String)})"
            )
            parameters["attribute_keys"] = [k for k, _ in self.attributes]
            parameters["attribute_values"] = [v for _, v in self.attributes]
        return conditions, parameters


def parse_severity(text: str) -> int:
    """`ERROR` (any case) or an OTel number 1–24 → the lowest SeverityNumber shown."""
    if text.strip().isdigit() and 1 <= int(text) <= 24:
        return int(text)
    try:
        return int(severity.named(text))
    except ValueError:
        raise TailFilterError(
            f"severity {text!r} is not a level: use TRACE, DEBUG, INFO, WARN, ERROR or FATAL "
            "(that level and above are shown) or a SeverityNumber 1-24"
        ) from None


def parse_attribute(text: str) -> tuple[str, str]:
    """`key=value` → (key, value); the value may hold `=` and may be empty."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise TailFilterError(
            f"attribute {text!r} is not key=value: e.g. http.response.status_code=500"
        )
    return key.strip(), value


def parse_template_id(text: str) -> int:
    if not text.strip().isdigit() or int(text) >= 2**64:
        raise TailFilterError(
            f"template {text!r} is not a template id: a number as `logweir query templates` shows"
        )
    return int(text)


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """`now` (or empty) → None: new rows only; else a duration ago or an ISO time."""
    if not text.strip() or text.strip().lower() == "now":
        return None
    try:
        return parse_time(text, now or datetime.now(UTC))
    except TimeRangeError as exc:
        raise TailFilterError(str(exc).replace("cannot read time", "since: cannot read")) from None


# Query parameters of `GET /v1/tail`, as `logweir tail` names its options.
QUERY_PARAMETERS = ("service", "severity", "contains", "regex", "template", "attribute", "since")


def parse_query(query: Mapping[str, str]) -> tuple[Filters, datetime | None]:
    """Filters and start from URL query parameters (aiohttp's `request.query` or a dict);
    `attribute` may repeat. Unknown parameters are refused, so a typo does not show everything."""
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise TailFilterError(
            f"unknown parameter {unknown[0]!r}: use {', '.join(QUERY_PARAMETERS)}"
        )
    if hasattr(query, "getall"):  # aiohttp's MultiDictProxy: every value of a repeated name
        attributes = list(query.getall("attribute", []))
    else:
        attributes = [query["attribute"]] if query.get("attribute") else []
    filters = Filters(
        service=query.get("service", ""),
        min_severity=parse_severity(query["severity"]) if query.get("severity") else 0,
        contains=query.get("contains", ""),
        regex=query.get("regex", ""),
        template_id=parse_template_id(query["template"]) if query.get("template") else None,
        attributes=tuple(parse_attribute(a) for a in attributes),
    )
    return filters, parse_since(query.get("since", ""))


# --- Rows --------------------------------------------------------------------------------------

_COLUMNS = f"""toUnixTimestamp64Nano(Timestamp) AS TimestampNanos, ServiceName, SeverityText,
    SeverityNumber, Body, {canonical_id()} AS CanonicalTemplateId, TraceId, SpanId, LogAttributes,
    KafkaTopic, KafkaPartition, KafkaIncarnation, KafkaOffset, KafkaEventIndex,
    _partition_id AS TablePartition"""


@dataclass(frozen=True, slots=True)
class Row:
    """An otel_logs row as the tail shows it."""

    timestamp_ns: int
    service: str
    severity_text: str
    severity_number: int
    body: str
    template_id: int  # the id the template stands under now (through the canonical map)
    trace_id: str
    span_id: str
    attributes: dict[str, str]
    topic: str
    partition: int
    incarnation: int
    offset: int
    event_index: int
    table_partition: str  # otel_logs's partition (the event's day) holding the row

    @property
    def key(self) -> Key:
        return (self.topic, self.partition, self.incarnation)

    @property
    def mark_key(self) -> MarkKey:
        return (self.topic, self.partition, self.incarnation, self.table_partition)

    @property
    def coordinate(self) -> Coordinate:
        return (self.offset, self.event_index)

    def time_text(self, digits: int = 9) -> str:
        """ISO 8601 UTC with `digits` of the second's fraction: 2026-03-04T05:06:07.123456789Z."""
        seconds, nanos = divmod(self.timestamp_ns, 1_000_000_000)
        base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{base}.{nanos:09d}"[: len(base) + 1 + digits] + "Z"

    def to_json(self) -> dict[str, Any]:
        """The row under otel_logs's column names; the time in ISO 8601 UTC to the nanosecond."""
        return {
            "Timestamp": self.time_text(),
            "ServiceName": self.service,
            "SeverityText": self.severity_text,
            "SeverityNumber": self.severity_number,
            "Body": self.body,
            "TemplateId": self.template_id,
            "TraceId": self.trace_id,
            "SpanId": self.span_id,
            "LogAttributes": self.attributes,
            "KafkaTopic": self.topic,
            "KafkaPartition": self.partition,
            "KafkaIncarnation": self.incarnation,
            "KafkaOffset": self.offset,
            "KafkaEventIndex": self.event_index,
        }


def _row(values: Sequence[Any]) -> Row:
    return Row(
        int(values[0]),
        values[1],
        values[2],
        int(values[3]),
        values[4],
        int(values[5]),
        values[6],
        values[7],
        dict(values[8]),
        values[9],
        int(values[10]),
        int(values[11]),
        int(values[12]),
        int(values[13]),
        values[14],
    )


def interleave(rows: Sequence[Row]) -> list[Row]:
    """Rows sorted by (partition, coordinate) → by event time across partitions, each
    partition's rows kept in their order (a late event stays where its offset puts it)."""
    runs: dict[Key, list[Row]] = {}
    for row in rows:
        runs.setdefault(row.key, []).append(row)
    return list(heapq.merge(*runs.values(), key=lambda r: r.timestamp_ns))


# --- The cursor --------------------------------------------------------------------------------

_PARTS = """SELECT min_block_number, max_block_number, rows FROM system.parts
WHERE database = currentDatabase() AND table = 'otel_logs' AND active
  AND max_block_number > {read_through:UInt64}
ORDER BY max_block_number"""
_LAST_BLOCK = """SELECT max(max_block_number) FROM system.parts
WHERE database = currentDatabase() AND table = 'otel_logs' AND active"""
_FLOOR = """SELECT KafkaTopic, KafkaPartition, KafkaIncarnation, max(MaxOffset) FROM ingest_progress
WHERE TargetTable = 'otel_logs' GROUP BY KafkaTopic, KafkaPartition, KafkaIncarnation"""
_REGEX_CHECK = "SELECT match('', {regex:String})"
_RE2_ERROR = re.compile(r"cannot compile re2: .*?, error: (.+?): ")


def _lookup(name: str, by_day: bool) -> str:
    """SQL: the row's position among the keys of parameter arrays `<name>_…` (0: absent);
    `by_day`: the keys hold the table partition too."""
    day = f", {{{name}_table_partitions:Array(String)}}" if by_day else ""
    return (
        f"indexOf(arrayZip({{{name}_topics:Array(String)}}, {{{name}_partitions:Array(UInt32)}}, "
        f"{{{name}_incarnations:Array(UInt32)}}{day}), (toString(KafkaTopic), KafkaPartition, "
        f"KafkaIncarnation{', _partition_id' if by_day else ''})) AS _{name}_at"
    )


def _above(name: str) -> str:
    """SQL: the row's coordinate is above its key's in the parameter arrays `<name>_…`."""
    return (
        f"(KafkaOffset, KafkaEventIndex) > ({{{name}_offsets:Array(UInt64)}}[_{name}_at], "
        f"{{{name}_indexes:Array(UInt32)}}[_{name}_at])"
    )


# The part's block range from its name, `<partition>_<min>_<max>_<level>[_<mutation>]`, and
# where the row's partition is among the floors and the marks.
_WITH = f"""{WITH_CANONICAL},
    splitByChar('_', _part) AS _part_name,
    toUInt64OrZero(_part_name[2]) AS _min_block,
    toUInt64OrZero(_part_name[3]) AS _max_block,
    {_lookup("floor", by_day=False)},
    {_lookup("mark", by_day=True)}"""
_NEW = f"""_max_block > {{read_through:UInt64}} AND _min_block <= {{until_block:UInt64}}
  AND (_floor_at = 0 OR {_above("floor")})
  AND (_min_block > {{checked_through:UInt64}} OR _mark_at = 0 OR {_above("mark")})"""
_HISTORY = f"""TimestampTime >= toDateTime({{window_start:DateTime64(9)}})
  AND TimestampTime <= toDateTime({{window_end:DateTime64(9)}})
  AND Timestamp >= {{window_start:DateTime64(9)}} AND Timestamp < {{window_end:DateTime64(9)}}
  AND _floor_at > 0 AND NOT {_above("floor")}"""
_ORDER = "KafkaTopic, KafkaPartition, KafkaIncarnation, KafkaOffset, KafkaEventIndex"


def _select(rows: str, filters: Filters, order: str) -> tuple[str, dict[str, Any]]:
    """`rows` (which rows are new, or history) as PREWHERE: it reads only the Kafka columns, and
    a merged part's rows already shown are dropped before any Body is read for the filters."""
    conditions, parameters = filters.sql()
    where = "".join(f"\n{'WHERE' if i == 0 else '  AND'} {c}" for i, c in enumerate(conditions))
    sql = (
        f"{_WITH}\nSELECT {_COLUMNS}\nFROM otel_logs\nPREWHERE {rows}{where}"
        + f"\nORDER BY {order}\nLIMIT {{limit:UInt32}}"
    )
    return sql, parameters


def _arrays(name: str, coordinates: Mapping[Any, Coordinate]) -> dict[str, list[Any]]:
    """The parameter arrays of `_lookup(name)` and `_above(name)`: `<name>_topics`,
    `…_partitions`, `…_incarnations`, (marks: `…_table_partitions`), `…_offsets`, `…_indexes`."""
    items = sorted(coordinates.items())
    arrays = {
        f"{name}_topics": [k[0] for k, _ in items],
        f"{name}_partitions": [k[1] for k, _ in items],
        f"{name}_incarnations": [k[2] for k, _ in items],
        f"{name}_offsets": [c[0] for _, c in items],
        f"{name}_indexes": [c[1] for _, c in items],
    }
    if name == "mark":
        arrays["mark_table_partitions"] = [k[3] for k, _ in items]
    return arrays


@dataclass(slots=True)
class Cursor:
    """Where a tail is; the module docstring says why this is enough."""

    read_through: int  # every block up to here read in full
    checked_through: int  # parts reaching down to here may hold rows shown: checked by marks
    floor: dict[Key, Coordinate] = field(default_factory=dict)  # stored before the start
    marks: dict[MarkKey, Coordinate] = field(default_factory=dict)  # the last row shown

    def until_block(self, parts: Iterable[tuple[int, int, int]], budget: int) -> int:
        """The highest block a poll reads: parts (min, max, rows) by max block until about
        `budget` rows (at least one part), never below what was already checked."""
        total, until = 0, self.read_through
        for _, max_block, rows in parts:
            if total and total + rows > budget:
                break
            total, until = total + rows, max_block
        return max(until, self.checked_through)

    def parameters(self, until_block: int) -> dict[str, Any]:
        return {
            "read_through": self.read_through,
            "until_block": until_block,
            "checked_through": self.checked_through,
            **_arrays("floor", self.floor),
            **_arrays("mark", self.marks),
        }

    def advance(self, shown: Iterable[Row], until_block: int, complete: bool) -> None:
        """After a poll up to `until_block` showed `shown`; `complete`: its LIMIT cut nothing."""
        for row in shown:
            if row.coordinate > self.marks.get(row.mark_key, (-1, -1)):
                self.marks[row.mark_key] = row.coordinate
        self.checked_through = max(self.checked_through, until_block)
        if complete:
            self.read_through = max(self.read_through, until_block)


class Follower:
    """The blocking core: one client, one cursor. `start`, then `history` until it returns None
    (at once without `since`), then `poll` again and again. A call that raises leaves the
    follower as it was: call it again."""

    def __init__(
        self,
        client: Client,
        filters: Filters,
        since: datetime | None = None,
        rows_per_poll: int = ROWS_PER_POLL,
    ) -> None:
        self.client = client
        self.filters = filters
        self.rows_per_poll = rows_per_poll
        self.cursor: Cursor | None = None
        self.caught_up = True  # the last poll read everything visible
        self._history_from = since
        self._history_until = since
        self._history_window = HISTORY_WINDOW

    def start(self, now: datetime | None = None) -> None:
        if self.filters.regex:
            try:
                self._query(_REGEX_CHECK, {"regex": self.filters.regex})
            except TailError as exc:
                # RE2's own words ("missing )") without ClickHouse's paragraph around them.
                found = _RE2_ERROR.search(str(exc.__cause__))
                raise TailFilterError(
                    f"regex {self.filters.regex!r} is not one ClickHouse accepts "
                    f"({found.group(1) if found else first_line(exc, 200)}): see RE2's syntax, "
                    "https://github.com/google/re2/wiki/Syntax"
                ) from None
        # The floor before the parts: a row counted in the floor is in a part listed after.
        floor = {
            (str(t), int(p), int(i)): (int(o), _LAST_INDEX) for t, p, i, o in self._query(_FLOOR)
        }
        last_block = int(self._query(_LAST_BLOCK)[0][0] or 0)
        self.cursor = Cursor(last_block, last_block, floor)
        self._history_until = now or datetime.now(UTC)

    def history(self) -> list[Row] | None:
        """The next window of rows stored before the start with Timestamp from `since` on, by
        time; None when there is no more."""
        start, started_at = self._history_from, self._history_until
        if self.cursor is None or start is None or started_at is None:
            return None
        if start >= _LAST_TIME:
            self._history_from = None
            return None
        sql, filter_parameters = _select(_HISTORY, self.filters, f"Timestamp, {_ORDER}")
        while True:
            # Windows up to the start, then one for the rows stamped after it (by a producer
            # whose clock is ahead): few, read at once.
            end = (
                min(start + self._history_window, started_at) if start < started_at else _LAST_TIME
            )
            parameters = self.cursor.parameters(0) | filter_parameters
            parameters |= {"window_start": start, "window_end": end, "limit": 2**32 - 1}
            if end == _LAST_TIME:
                rows = self._query(sql, parameters)
                break
            rows = self._query(sql, parameters | {"limit": self.rows_per_poll + 1})
            if len(rows) <= self.rows_per_poll:
                break
            if self._history_window > timedelta(seconds=1):
                self._history_window /= 2  # too many for one window: half of it
                continue
            # One second holds more than a poll's worth: show it whole all the same.
            rows = self._query(sql, parameters)
            break
        self._history_from = end
        if len(rows) < self.rows_per_poll // 4:
            self._history_window *= 2
        return [_row(r) for r in rows]

    def poll(self) -> list[Row]:
        """The new rows since the last poll, interleaved by time, each partition in order."""
        cursor = self.cursor
        if cursor is None:
            raise RuntimeError("Follower.poll before Follower.start")
        parts = [
            (int(a), int(b), int(n))
            for a, b, n in self._query(_PARTS, {"read_through": cursor.read_through})
        ]
        if not parts:
            self.caught_up = True
            return []
        until_block = cursor.until_block(parts, self.rows_per_poll)
        sql, filter_parameters = _select(_NEW, self.filters, _ORDER)
        parameters = cursor.parameters(until_block) | filter_parameters
        rows = [_row(r) for r in self._query(sql, parameters | {"limit": self.rows_per_poll + 1})]
        complete = len(rows) <= self.rows_per_poll
        shown = rows if complete else rows[: self.rows_per_poll]
        cursor.advance(shown, until_block, complete)
        self.caught_up = complete and until_block >= parts[-1][1]
        return interleave(shown)

    def _query(self, sql: str, parameters: dict[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        try:
            result = self.client.query(sql, parameters=parameters or {}, settings=read_only())
        except OperationalError:
            raise  # an outage: the caller retries
        except ClickHouseError as exc:
            raise TailError(f"tail query failed in ClickHouse: {first_line(exc)}") from exc
        return result.result_rows  # type: ignore[no-any-return]


# --- Async ---------------------------------------------------------------------------------------


def _ignore(message: str | None) -> None:
    pass


async def follow_batches(
    connect: Callable[[], Client],
    filters: Filters,
    since: datetime | None = None,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_unavailable: Callable[[str | None], None] = _ignore,
) -> AsyncGenerator[list[Row], None]:
    """A list of rows per poll (history first when `since`), an empty one when nothing came:
    a stream can write a batch at once, or a heartbeat on an empty one.

    `connect` makes a client (e.g. `lambda: pipeline.clickhouse.connect(settings)`). While
    ClickHouse cannot be reached the tail keeps its cursor and retries every RETRY_SECONDS,
    calling `on_unavailable` with a one-line reason when that starts and with None when it
    answers again. Raises TailFilterError for a filter ClickHouse refuses, TailError for any
    other refused query. Cancellation-safe: the blocking calls run in a thread, and the answer of
    a cancelled one is dropped with the cursor as it was.
    """
    follower: Follower | None = None
    outage: str | None = None
    in_history = since is not None
    while True:
        try:
            if follower is None:
                follower = Follower(await asyncio.to_thread(connect), filters, since)
            if follower.cursor is None:
                await asyncio.to_thread(follower.start)
            batch = await asyncio.to_thread(follower.history) if in_history else None
            if batch is None:
                in_history = False
                batch = await asyncio.to_thread(follower.poll)
        except (SinkUnavailable, OperationalError) as exc:
            if outage is None:
                outage = _unreachable(exc)
                on_unavailable(outage)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if outage is not None:
            outage = None
            on_unavailable(None)
        yield batch
        if not in_history and follower.caught_up:
            await asyncio.sleep(poll_seconds)


async def follow(
    connect: Callable[[], Client],
    filters: Filters,
    since: datetime | None = None,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_unavailable: Callable[[str | None], None] = _ignore,
) -> AsyncIterator[Row]:
    """Every new row once, in order per partition (the arguments as for follow_batches)."""
    async for batch in follow_batches(
        connect, filters, since, poll_seconds=poll_seconds, on_unavailable=on_unavailable
    ):
        for row in batch:
            yield row


def _unreachable(exc: BaseException) -> str:
    retrying = f"retrying every {RETRY_SECONDS:g} s"
    if isinstance(exc, SinkUnavailable):  # names the server and how to start the local one
        return f"{exc}; {retrying}"
    return f"ClickHouse is not answering ({first_line(exc, 200)}); {retrying}"
