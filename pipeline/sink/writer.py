"""The ClickHouse sink: batches of records and dead letters in, exactly-once rows out.

The ingest agent calls `write()` once per batch and awaits it before the batch's Kafka offsets
are acknowledged, so offsets are committed only after ClickHouse has the rows. Exactly-once
on top of Kafka's at-least-once comes from two mechanisms:

- each insert carries a deduplication token derived from its Kafka offset ranges, so a retry
  of the same batch after a lost acknowledgement is dropped by the server;
- after a restart or rebalance, events at or below the highest offset already stored for their
  table and partition (kept by the `ingest_offsets` materialized views) are skipped, because
  a replayed batch need not have the same boundaries as the one that was stored.

A ClickHouse that is down or slow is retried with backoff for as long as it takes (the agent
stops pulling from Kafka meanwhile); rows the server rejects are bisected until the bad ones
are isolated and dead-lettered, so one bad row never blocks or loses the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from clickhouse_connect.driver import options as insert_options
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from clickhouse_connect.driver.insert import InsertContext

from pipeline import telemetry
from pipeline.clickhouse import unreachable
from pipeline.errors import SinkUnavailable
from pipeline.message import Message
from pipeline.settings import Settings
from schemas.records import SEVERITY_TEXT, DeadLetter, LogRecord

log = logging.getLogger(__name__)

R = TypeVar("R")

LOGS_TABLE = "otel_logs"
DEADLETTER_TABLE = "logs_deadletter"

LOG_COLUMNS = (
    "Timestamp",
    "TimestampTime",
    "TraceId",
    "SpanId",
    "TraceFlags",
    "SeverityText",
    "SeverityNumber",
    "ServiceName",
    "Body",
    "ResourceAttributes",
    "ScopeName",
    "LogAttributes",
    "LogFormat",
    "TemplateId",
    "Template",
    "IngestFlags",
    "KafkaTopic",
    "KafkaPartition",
    "KafkaOffset",
    "KafkaEventIndex",
)
DEADLETTER_COLUMNS = (
    "MessageTimestamp",
    "Reason",
    "Detail",
    "Raw",
    "RawBytes",
    "KafkaTopic",
    "KafkaPartition",
    "KafkaOffset",
    "KafkaEventIndex",
)
# A dead letter keeps at most this much of the raw input; RawBytes has the full size.
MAX_DEADLETTER_RAW = 1024 * 1024


# A row of otel_logs or logs_deadletter, in the order of LOG_COLUMNS or DEADLETTER_COLUMNS.
Row = tuple[object, ...]


def log_row(record: LogRecord, message: Message, index: int = 0) -> Row:
    resource = {"service.name": record.service}
    if record.host:
        resource["host.name"] = record.host
    severity = int(record.severity)
    return (
        record.timestamp_ns,
        record.timestamp_ns // 1_000_000_000,
        record.trace_id,
        record.span_id,
        record.trace_flags,
        SEVERITY_TEXT[severity],
        severity,
        record.service,
        record.body,
        resource,
        record.logger,
        record.attributes,
        record.format,
        record.template_id,
        record.template,
        record.flags,
        message.topic,
        message.partition,
        message.offset,
        index,
    )


def deadletter_row(dead: DeadLetter, index: int = 0) -> Row:
    return (
        dead.timestamp_ms,
        dead.reason,
        dead.detail,
        dead.raw[:MAX_DEADLETTER_RAW],
        len(dead.raw),
        dead.topic,
        dead.partition,
        dead.offset,
        index,
    )


TABLE_COLUMNS = {LOGS_TABLE: LOG_COLUMNS, DEADLETTER_TABLE: DEADLETTER_COLUMNS}

# Where each table's rows keep their Kafka topic, partition and offset.
COORDINATE_COLUMNS = {
    table: tuple(columns.index(c) for c in ("KafkaTopic", "KafkaPartition", "KafkaOffset"))
    for table, columns in TABLE_COLUMNS.items()
}


@dataclass(slots=True)
class Pending:
    """Rows for one table; each row carries the Kafka coordinates it came from."""

    table: str
    rows: list[Row] = field(default_factory=list)
    _spans: dict[tuple[str, int], list[int]] | None = None

    def coordinates(self, row: Row) -> tuple[str, int, int]:
        t, p, o = COORDINATE_COLUMNS[self.table]
        return row[t], row[p], row[o]  # type: ignore[return-value]

    def spans(self) -> dict[tuple[str, int], list[int]]:
        """(topic, partition) → [lowest offset, highest offset, rows]: one pass, then cached."""
        if self._spans is None:
            t, p, o = COORDINATE_COLUMNS[self.table]
            spans: dict[tuple[str, int], list[int]] = {}
            for row in self.rows:
                key: tuple[str, int] = (row[t], row[p])  # type: ignore[assignment]
                offset: int = row[o]  # type: ignore[assignment]
                span = spans.get(key)
                if span is None:
                    spans[key] = [offset, offset, 1]
                    continue
                if offset < span[0]:
                    span[0] = offset
                elif offset > span[1]:
                    span[1] = offset
                span[2] += 1
            self._spans = spans
        return self._spans

    def token(self) -> str:
        """Deterministic for the same rows: the table and each partition's offset range."""
        key = ";".join(f"{t}/{p}/{a}-{b}/{n}" for (t, p), (a, b, n) in sorted(self.spans().items()))
        return hashlib.sha1(f"{self.table}|{key}".encode()).hexdigest()

    def split(self) -> tuple[Pending, Pending]:
        half = len(self.rows) // 2
        return Pending(self.table, self.rows[:half]), Pending(self.table, self.rows[half:])


@dataclass(slots=True)
class WriteResult:
    stored: int = 0
    dead_lettered: int = 0
    # Already in ClickHouse from before a restart: skipped, not stored twice.
    skipped: int = 0
    # Dead letters created here, from rows ClickHouse rejected.
    rejected: list[DeadLetter] = field(default_factory=list)


class ClickHouseSink:
    """Writes batches to otel_logs and logs_deadletter; see the module docstring."""

    def __init__(self, client_factory: Callable[[], Client], settings: Settings) -> None:
        self._client_factory = client_factory
        self._client: Client | None = None
        self._settings = settings
        # (table, topic, partition) -> highest offset known to be stored.
        self._stored_up_to: dict[tuple[str, str, int], int] = {}
        self._contexts: dict[str, InsertContext] = {}
        # Owned partitions whose stored offsets have not been read yet.
        self._unloaded: set[tuple[str, int]] = set()
        # clickhouse-connect imports pandas, when installed, on its first insert (to check
        # for DataFrames): done now, at start-up, not while the first batch waits (~0.3 s).
        insert_options.pd  # noqa: B018

    def _context(self, client: Client, table: str) -> InsertContext:
        # One reusable context per table: clickhouse-connect's per-insert context is a
        # reference cycle that kept each batch's columns alive until a full garbage collection
        # (and it would send a DESCRIBE before every insert that does not name its types).
        context = self._contexts.get(table)
        if context is None:
            context = client.create_insert_context(
                table, TABLE_COLUMNS[table], column_oriented=True
            )
            self._contexts[table] = context
        return context

    def forget_progress(self, owned: Iterable[tuple[str, int]]) -> None:
        """After a rebalance: drop the cached offsets (another worker may have stored more);
        the next write reads those of every `owned` (topic, partition) in one query."""
        self._stored_up_to.clear()
        self._unloaded = set(owned)

    async def write(
        self, log_rows: list[Row], dead_letters: Sequence[tuple[DeadLetter, int]]
    ) -> WriteResult:
        """Store `log_row` rows and (dead letter, event index) pairs; see the module docstring."""
        result = WriteResult()
        logs = Pending(LOGS_TABLE, log_rows)
        dead = Pending(DEADLETTER_TABLE, [deadletter_row(d, index) for d, index in dead_letters])
        await self._load_progress(self._unloaded.union(*(p.spans() for p in (logs, dead))))
        self._unloaded.clear()
        logs, dead = self._unstored(logs, result), self._unstored(dead, result)
        # Dead letters first: if the worker dies between the two inserts, the replay finds
        # the dead letters stored and the log rows not, and each table skips only its own.
        await self._insert_in_order([dead, logs], result)
        result.dead_lettered += len(dead.rows)
        self._remember(logs)
        self._remember(dead)
        return result

    def _unstored(self, pending: Pending, result: WriteResult) -> Pending:
        """The rows above the table's stored-offset marks (all of them, unless replaying)."""
        marks = self._stored_up_to
        table = pending.table
        if all(marks.get((table, *key), -1) < low for key, (low, _, _) in pending.spans().items()):
            return pending
        kept = Pending(table)
        for row in pending.rows:
            topic, partition, offset = pending.coordinates(row)
            if offset > marks.get((table, topic, partition), -1):
                kept.rows.append(row)
        result.skipped += len(pending.rows) - len(kept.rows)
        return kept

    def _remember(self, pending: Pending) -> None:
        for (topic, partition), (_, high, _) in pending.spans().items():
            key = (pending.table, topic, partition)
            if high > self._stored_up_to.get(key, -1):
                self._stored_up_to[key] = high

    async def _load_progress(self, partitions: set[tuple[str, int]]) -> None:
        missing = {
            (topic, partition)
            for topic, partition in partitions
            if (LOGS_TABLE, topic, partition) not in self._stored_up_to
        }
        if not missing:
            return
        topics = sorted({t for t, _ in missing})
        rows = await self._retrying(
            "read stored offsets",
            lambda client: (
                client.query(
                    "SELECT TargetTable, KafkaTopic, KafkaPartition, max(MaxOffset) "
                    "FROM ingest_offsets WHERE KafkaTopic IN {topics:Array(String)} "
                    "GROUP BY TargetTable, KafkaTopic, KafkaPartition",
                    parameters={"topics": topics},
                ).result_rows
            ),
        )
        for table in (LOGS_TABLE, DEADLETTER_TABLE):
            for topic, partition in missing:
                self._stored_up_to[(table, topic, partition)] = -1
        for table, topic, partition, offset in rows:
            if (topic, partition) in missing:
                self._stored_up_to[(table, topic, partition)] = offset
                log.info(
                    "resuming %s %s[%d] after stored offset %d", table, topic, partition, offset
                )

    async def _insert_in_order(self, pendings: list[Pending], result: WriteResult) -> None:
        """Insert each table's rows, in order, in one hop to the client thread: a second hop
        would wait for the event loop, which the next batch's parsing holds by then."""
        pendings = [p for p in pendings if p.rows]
        if not pendings:
            return
        try:
            await self._retrying(
                "insert " + " and ".join(f"{len(p.rows)} rows into {p.table}" for p in pendings),
                lambda client: [self._send(client, p) for p in pendings],
            )
        except DatabaseError:
            # A row was refused: each table again on its own, bisecting down to the bad rows.
            # A table whose insert went through is not stored twice: same rows, same token.
            for pending in pendings:
                await self._insert(pending, result)
            return
        result.stored += sum(len(p.rows) for p in pendings if p.table == LOGS_TABLE)

    async def _insert(self, pending: Pending, result: WriteResult) -> None:
        try:
            await self._retrying(
                f"insert {len(pending.rows)} rows into {pending.table}",
                lambda client: self._send(client, pending),
            )
            result.stored += len(pending.rows) if pending.table == LOGS_TABLE else 0
        except DatabaseError as exc:
            if len(pending.rows) > 1:
                for half in pending.split():
                    await self._insert(half, result)
                return
            await self._reject(pending, exc, result)

    def _send(self, client: Client, pending: Pending) -> int:
        """One insert, with the token that makes a repeat of it a no-op (client thread);
        returns the number of rows."""
        context = self._context(client, pending.table)
        context.settings["insert_deduplication_token"] = pending.token()
        started = time.monotonic()
        # Column-oriented: clickhouse-connect then writes each column without pivoting rows in
        # Python, half the client CPU per row (measured).
        client.insert(data=list(zip(*pending.rows, strict=True)), context=context)
        telemetry.rows_inserted(pending.table, len(pending.rows), time.monotonic() - started)
        return len(pending.rows)

    async def _reject(self, pending: Pending, exc: DatabaseError, result: WriteResult) -> None:
        """One row the server refused: store it as a dead letter instead (or drop a bad one)."""
        topic, partition, offset = pending.coordinates(pending.rows[0])
        detail = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else repr(exc)
        if pending.table == DEADLETTER_TABLE:
            # A dead letter the server refuses cannot be stored anywhere else: say so loudly.
            log.error(
                "ClickHouse refused dead letter %s[%d]@%d: %s", topic, partition, offset, detail
            )
            return
        row = pending.rows[0]
        body = row[LOG_COLUMNS.index("Body")]
        index = int(row[LOG_COLUMNS.index("KafkaEventIndex")])  # type: ignore[call-overload]
        dead = DeadLetter(
            reason="clickhouse_rejected",
            detail=detail,
            raw=str(body).encode("utf-8", "replace"),
            topic=topic,
            partition=partition,
            offset=offset,
            timestamp_ms=int(row[0]) // 1_000_000,  # type: ignore[call-overload]
        )
        result.rejected.append(dead)
        dead_pending = Pending(DEADLETTER_TABLE, [deadletter_row(dead, index)])
        await self._insert(dead_pending, result)
        result.dead_lettered += 1

    async def _retrying(self, what: str, call: Callable[[Client], R]) -> R:
        """Run `call` in a thread until ClickHouse answers; server-side rejections propagate."""
        delay = 0.2
        while True:
            try:
                if self._client is None:
                    self._client = await asyncio.to_thread(self._client_factory)
                return await asyncio.to_thread(call, self._client)
            except SinkUnavailable as exc:
                log.warning("%s: %s; retrying in %.1fs", what, exc, delay)
            except (OperationalError, OSError) as exc:
                self._client = None
                log.warning(
                    "%s: %s; retrying in %.1fs", what, unreachable(self._settings, exc), delay
                )
            except DatabaseError as exc:
                if not _is_transient(exc):
                    raise
                log.warning(
                    "%s: ClickHouse is busy (%s); retrying in %.1fs",
                    what,
                    str(exc).splitlines()[0][:200],
                    delay,
                )
            telemetry.insert_retried()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.sink_retry_max_seconds)


def forget_stored_offsets(client: Client, topics: list[str]) -> int:
    """Drop the stored-offset watermarks of `topics`; returns how many partitions had one.

    For a broker that lost its log (the local in-memory broker after a restart): its offsets
    start again at 0, and the old watermarks would make the sink skip new messages.
    """
    known = client.query(
        "SELECT count() FROM ingest_offsets WHERE KafkaTopic IN {topics:Array(String)}",
        parameters={"topics": topics},
    ).result_rows[0][0]
    if known:
        client.command(
            "ALTER TABLE ingest_offsets DELETE WHERE KafkaTopic IN {topics:Array(String)}",
            parameters={"topics": topics},
            settings={"mutations_sync": 2},
        )
    return int(known)


# Server errors that say "later", not "this data is bad": too many parts, memory, timeouts.
_TRANSIENT_CODES = (
    "Code: 252.",
    "Code: 241.",
    "Code: 159.",
    "Code: 209.",
    "Code: 210.",
    "Code: 202.",
    "Code: 203.",
    "Code: 425.",
    "Code: 439.",
    "Code: 242.",
)


def _is_transient(exc: DatabaseError) -> bool:
    text = str(exc)
    return any(code in text for code in _TRANSIENT_CODES)
