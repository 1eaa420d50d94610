"""The cursor: its SQL fragments, Cursor, the blocking Follower; design: the package docstring."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from pipeline.clickhouse import read_only
from pipeline.enrich.store import WITH_CANONICAL
from pipeline.errors import first_line
from pipeline.query.tail.filters import Filters, TailError, TailFilterError
from pipeline.query.tail.rows import _COLUMNS, Coordinate, Key, MarkKey, Row, _row, interleave

# Rows read by one poll, at most: bounds memory after a burst; the rest comes at once after.
ROWS_PER_POLL = 20_000
# History is read in windows of event time, the first this long; a window holding more than
# ROWS_PER_POLL rows is halved, one holding few doubled.
HISTORY_WINDOW = timedelta(minutes=1)
# The end of the last history window: DateTime's last second (TimestampTime is a DateTime).
_LAST_TIME = datetime(2106, 2, 7, tzinfo=UTC)
_LAST_INDEX = 2**32 - 1  # every event of an offset

_PARTS = """SELECT min_block_number, max_block_number, rows FROM system.parts
WHERE database = currentDatabase() AND table = 'otel_logs' AND active
  AND max_block_number > {read_through:UInt64}
ORDER BY max_block_number"""
# An insert's part becomes visible before its ingest_progress row, or after: ClickHouse does
# not make a table and its materialized views visible at once. A part older than this was
# written by an insert long finished, so its rows are in the floor read after it.
SETTLE_SECONDS = 60
_SETTLED_BLOCK = """SELECT max(max_block_number) FROM system.parts
WHERE database = currentDatabase() AND table = 'otel_logs' AND active
  AND modification_time < now() - {settle_seconds:UInt32}"""
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
    """Where a tail is; the package docstring says why this is enough."""

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
        # The settled blocks before the floor: their rows are all in it, so they are history.
        # Later blocks are read by the first poll, which shows only their rows above the floor:
        # what an insert still running now adds, whichever of its parts is visible first.
        settled = self._query(_SETTLED_BLOCK, {"settle_seconds": SETTLE_SECONDS})[0][0]
        floor = {
            (str(t), int(p), int(i)): (int(o), _LAST_INDEX) for t, p, i, o in self._query(_FLOOR)
        }
        self.cursor = Cursor(int(settled or 0), int(settled or 0), floor)
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
