"""The ClickHouse writer: batches of rows and dead letters in, exactly-once rows out.

The ingest consumer calls `write()` once per batch and awaits it before the batch's Kafka
offsets are committed, so offsets are committed only after ClickHouse has the rows. Exactly-once
on top of Kafka's at-least-once comes from two mechanisms:

- events at or below the highest offset already stored for their table, partition and
  incarnation are skipped (`progress`: a replayed batch need not have the boundaries of the one
  that was stored, and a broker's offsets are checked to still mean the same records);
- each insert carries a deduplication token naming its rows, so a retry of the same insert
  after a lost acknowledgement is dropped by the server.

A ClickHouse that is down or slow is retried with backoff for as long as it takes (the consumer
stops pulling from Kafka meanwhile); rows the server rejects are bisected until the bad ones
are isolated and dead-lettered, so one bad row never blocks or loses the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from clickhouse_connect.driver import options as insert_options
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.insert import InsertContext

from pipeline.errors import first_line
from pipeline.observe import telemetry
from pipeline.settings import Settings
from pipeline.sink import native, progress
from pipeline.sink.native import NativeLayout
from pipeline.sink.progress import PartitionLog, Plan, Progress, Span, TopicPartition
from pipeline.sink.retry import Retrying
from pipeline.sink.tables import (
    COORDINATES,
    DEADLETTER_TABLE,
    INCARNATION_COLUMN,
    LOG_COLUMNS,
    LOGS_TABLE,
    TABLE_COLUMNS,
    Row,
    TableRows,
    deadletter_row,
)
from schemas.records import DeadLetter

log = logging.getLogger(__name__)

# (topic, partition, offset) → the Kafka message there, if known.
Originals = Callable[[str, int, int], "bytes | None"]

R = TypeVar("R")


@dataclass(slots=True)
class Pending:
    """Rows for one table; each row carries the Kafka coordinates it came from."""

    table: str
    rows: TableRows = field(default_factory=TableRows)
    _spans: dict[TopicPartition, Span] | None = None

    def spans(self) -> dict[TopicPartition, Span]:
        if self._spans is None:
            self._spans = progress.spans(self.table, self.rows)
        return self._spans

    def where(self, keep: Callable[[str, int, int], bool]) -> Pending:
        """The rows whose (topic, partition, offset) `keep` accepts."""
        c = COORDINATES[self.table]
        t, p, o = c.topic, c.partition, c.offset
        kept = [r for r in self.rows.rows() if keep(r[t], r[p], r[o])]  # type: ignore[arg-type]
        return Pending(self.table, TableRows(kept))

    def split(self) -> tuple[Pending, Pending]:
        rows = self.rows.rows()
        half = len(rows) // 2
        return Pending(self.table, TableRows(rows[:half])), Pending(
            self.table, TableRows(rows[half:])
        )


@dataclass(slots=True)
class WriteResult:
    stored: int = 0
    dead_lettered: int = 0
    # Already in ClickHouse from before a restart: skipped, not stored twice.
    skipped: int = 0
    # Dead letters created here, from rows ClickHouse rejected.
    rejected: list[DeadLetter] = field(default_factory=list)
    # Partitions found to be a new incarnation past their start: nothing of the batch was
    # written; the consumer reads these again from their beginning and the batch's other
    # partitions from where they were.
    reread: set[TopicPartition] = field(default_factory=set)

    def count(self, table: str, rows: int) -> None:
        """`rows` of `table` were stored."""
        if table == LOGS_TABLE:
            self.stored += rows
        else:
            self.dead_lettered += rows


class ClickHouseSink:
    """Writes batches to otel_logs and logs_deadletter; see the module docstring."""

    def __init__(self, client_factory: Callable[[], Client], settings: Settings) -> None:
        self._retrying = Retrying(client_factory, settings)
        self._settings = settings
        self._progress = Progress()
        self._originals: Originals = lambda topic, partition, offset: None
        self._contexts: dict[str, tuple[InsertContext, NativeLayout | None]] = {}
        # clickhouse-connect imports pandas, when installed, on its first insert (to check
        # for DataFrames): done now, at start-up, not while the first batch waits (~0.3 s).
        insert_options.pd  # noqa: B018

    def _context(self, client: Client, table: str) -> tuple[InsertContext, NativeLayout | None]:
        # One reusable context per table: clickhouse-connect's per-insert context is a
        # reference cycle that kept each batch's columns alive until a full garbage collection
        # (and it would send a DESCRIBE before every insert that does not name its types).
        found = self._contexts.get(table)
        if found is None:
            context = client.create_insert_context(
                table, (*TABLE_COLUMNS[table], INCARNATION_COLUMN), column_oriented=True
            )
            found = self._contexts[table] = (context, NativeLayout.of(context))
        return found

    def row_layout(self, table: str) -> NativeLayout | None:
        """The layout in which this sink takes `table`'s rows encoded already (`TableRows.encoded`:
        its columns but the incarnation, which the sink adds); None until its first insert has
        asked ClickHouse for the column types, or when a type has no C encoding."""
        found = self._contexts.get(table)
        return found[1].leading if found is not None and found[1] is not None else None

    def forget_progress(self, owned: Iterable[TopicPartition]) -> None:
        """After a rebalance; see `Progress.forget`."""
        self._progress.forget(owned)

    async def write(
        self,
        log_rows: TableRows,
        dead_letters: Sequence[tuple[DeadLetter, int]],
        kafka: PartitionLog,
        originals: Originals = lambda topic, partition, offset: None,
    ) -> WriteResult:
        """Store `log_row` rows and (dead letter, event index) pairs; see the module docstring.
        `kafka` answers for the partitions of the batch (their offsets' incarnation);
        `originals` gives the Kafka message of a row, for the dead letter of a row ClickHouse
        refuses (else it keeps the row's body)."""
        self._originals = originals
        result = WriteResult()
        logs = Pending(LOGS_TABLE, log_rows)
        dead = Pending(
            DEADLETTER_TABLE, TableRows([deadletter_row(d, index) for d, index in dead_letters])
        )
        batch = {p.table: p.spans() for p in (logs, dead)}
        await self._load_progress(self._progress.to_load(tp for s in batch.values() for tp in s))
        plan = await self._progress.plan(batch, kafka)
        if plan.reread:
            result.reread = plan.reread
            return result
        logs, dead = self._unstored(logs, result), self._unstored(dead, result)
        # Dead letters first: if the worker dies between the two inserts, the replay finds
        # the dead letters stored and the log rows not, and each table skips only its own.
        await self._insert_in_order([dead, logs], plan, result)
        for pending in (logs, dead):
            self._progress.remember(pending.table, pending.spans())
        return result

    def _unstored(self, pending: Pending, result: WriteResult) -> Pending:
        """The rows above their table's marks (all of them, unless replaying)."""
        table, marks = pending.table, self._progress
        if all(marks.mark(table, tp) < span.low for tp, span in pending.spans().items()):
            return pending
        kept = pending.where(lambda t, p, o: o > marks.mark(table, (t, p)))
        result.skipped += len(pending.rows) - len(kept.rows)
        return kept

    async def _load_progress(self, partitions: set[TopicPartition]) -> None:
        if not partitions:
            return
        topics = sorted({t for t, _ in partitions})
        rows = await self._retrying(
            "read stored progress", lambda client: progress.read_progress(client, topics)
        )
        self._progress.loaded(partitions, rows)
        for tp in sorted(partitions):
            for table in (LOGS_TABLE, DEADLETTER_TABLE):
                stored = self._progress.mark(table, tp)
                if stored >= 0:
                    log.info(
                        "resuming %s %s[%d] after stored offset %d (incarnation %d)",
                        table,
                        *tp,
                        stored,
                        self._progress.incarnation(tp),
                    )

    async def _insert_in_order(
        self, pendings: list[Pending], plan: Plan, result: WriteResult
    ) -> None:
        """Insert each table's rows, in order, in one hop to the client thread: a second hop
        would wait for the event loop, which the next batch's parsing holds by then."""
        pendings = [p for p in pendings if p.rows]
        if not pendings:
            return
        try:
            await self._retrying(
                "insert " + " and ".join(f"{len(p.rows)} rows into {p.table}" for p in pendings),
                lambda client: [self._send(client, p, plan) for p in pendings],
            )
        except DatabaseError:
            # A row was refused: each table again on its own, bisecting down to the bad rows.
            # A table whose insert went through is not stored twice: same rows, same token.
            for pending in pendings:
                await self._insert(pending, plan, result)
            return
        for pending in pendings:
            result.count(pending.table, len(pending.rows))

    async def _insert(self, pending: Pending, plan: Plan, result: WriteResult) -> None:
        try:
            await self._retrying(
                f"insert {len(pending.rows)} rows into {pending.table}",
                lambda client: self._send(client, pending, plan),
            )
            result.count(pending.table, len(pending.rows))
        except DatabaseError as exc:
            if len(pending.rows) > 1:
                for half in pending.split():
                    await self._insert(half, plan, result)
                return
            await self._reject(pending, plan, exc, result)

    def _send(self, client: Client, pending: Pending, plan: Plan) -> int:
        """One insert, with the token that makes a repeat of it a no-op (client thread);
        returns the number of rows."""
        context, layout = self._context(client, pending.table)
        incarnations = plan.incarnations
        context.settings["insert_deduplication_token"] = progress.token(
            pending.table, pending.spans(), incarnations
        )
        started = time.monotonic()
        # One incarnation nearly always: every partition in its first.
        numbers = {incarnations.get(tp, 0) for tp in pending.spans()}
        encoded, body = pending.rows.encoded, None
        if encoded and layout and encoded.layout == layout.leading and len(numbers) == 1:
            body = layout.completed(encoded.blocks, next(iter(numbers)))
        if body is not None:
            native.insert_body(client, context, body)
        else:
            native.insert(client, context, layout, self._columns(pending, numbers, incarnations))
        telemetry.rows_inserted(pending.table, len(pending.rows), time.monotonic() - started)
        return len(pending.rows)

    @staticmethod
    def _columns(
        pending: Pending, numbers: set[int], incarnations: dict[TopicPartition, int]
    ) -> list[Sequence[object]]:
        """The pending rows' columns and their incarnation. Column-oriented: each column is
        encoded (native.py, or clickhouse-connect) without pivoting rows in Python."""
        columns = [*pending.rows.columns()]
        if len(numbers) == 1:
            columns.append([next(iter(numbers))] * len(pending.rows))
        else:
            c = COORDINATES[pending.table]
            columns.append(
                [
                    incarnations.get(tp, 0)  # type: ignore[arg-type]
                    for tp in zip(columns[c.topic], columns[c.partition], strict=True)
                ]
            )
        return columns

    def _original(self, topic: str, partition: int, offset: int, row: Row) -> bytes:
        raw = self._originals(topic, partition, offset)
        return raw if raw is not None else str(row[_BODY]).encode("utf-8", "replace")

    async def _reject(
        self, pending: Pending, plan: Plan, exc: DatabaseError, result: WriteResult
    ) -> None:
        """One row the server refused: store it as a dead letter instead (or drop a bad one)."""
        row, c = pending.rows[0], COORDINATES[pending.table]
        topic, partition, offset = row[c.topic], row[c.partition], row[c.offset]
        detail = first_line(exc, 500)
        if pending.table == DEADLETTER_TABLE:
            # A dead letter the server refuses cannot be stored anywhere else: say so loudly.
            log.error(
                "ClickHouse refused dead letter %s[%d]@%d: %s", topic, partition, offset, detail
            )
            return
        dead = DeadLetter(
            reason="clickhouse_rejected",
            detail=detail,
            raw=self._original(topic, partition, offset, row),  # type: ignore[arg-type]
            topic=topic,  # type: ignore[arg-type]
            partition=partition,  # type: ignore[arg-type]
            offset=offset,  # type: ignore[arg-type]
            timestamp_ms=row[c.timestamp],  # type: ignore[arg-type]
        )
        result.rejected.append(dead)
        index: int = row[_EVENT_INDEX]  # type: ignore[assignment]
        letter = TableRows([deadletter_row(dead, index)])
        await self._insert(Pending(DEADLETTER_TABLE, letter), plan, result)


_BODY = LOG_COLUMNS.index("Body")
_EVENT_INDEX = LOG_COLUMNS.index("KafkaEventIndex")
