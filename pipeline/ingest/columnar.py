"""The columnar prepare step: a fetched batch parsed a format group at a time.

The record-by-record path (`batch.prepare`) builds a Message and a LogRecord per event, runs
detection, the parser and seven enrichers per event, then a row: profiled, those per-event
objects and calls cost more than the parsing itself. Here a batch is taken in passes:

1. A message's events (one, or several by its framing) each go to the group of the format
   detection would offer them to first (`Registry.group_table`, the registry's own order and
   guards): that format's, if it has a group form (`parse_group`), else the group of lines
   detected and parsed one at a time without the rest of the record path. The usual message
   (bytes of one event, no headers, no forced format) is sorted in C (`_scan.scan`) and
   makes no Message at all. Events of several lines (tracebacks) and events of a forced
   format take the record path's parsing (`Ingestor.parse_line`), as do empty messages and
   bad framing headers (`Ingestor.split`: their dead letters).
2. Each format group is parsed in one call; a line its group form refuses is parsed record by
   record, which goes on down the detection order exactly as `batch.prepare` would.
3. Every row, of either kind, in batch order, becomes a column entry; the enrichers' column
   forms run over all of them, templates in one pass in offset order (the miner's ids depend
   on the order it sees bodies); then the rows.

A batch is taken a part of ~64 KiB of messages at a time through all three passes, and each
part's rows are encoded for the insert at once (`Encoded`): the passes then find a part's values
in the CPU cache, where passes over a whole batch (up to 2 MiB of messages, and the objects made
of them) did not.

Both paths store the same rows, dead letters and counts for every input
(tests/unit/ingest/test_columnar_identity.py compares them column by column over real-world
and hostile input). `Settings.ingest_path` picks the path; user hooks (they see each record)
and enrichers without a column form keep a worker on the record-by-record path.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import NamedTuple, get_args

from pipeline import parsing
from pipeline.enrich.registry import ColumnEnricher
from pipeline.errors import first_line
from pipeline.ingest._scan import census, fill, group, scan, transpose
from pipeline.ingest.batch import Batch, prepare
from pipeline.ingest.consumer import FetchedRecord
from pipeline.ingest.ingestor import Ingestor, is_utf8
from pipeline.ingest.message import Message
from pipeline.parsing.registry import Parsed
from pipeline.settings import Settings
from pipeline.sink.native import Encoded, NativeLayout
from pipeline.sink.tables import TableRows, log_columns
from schemas.records import DeadLetter, LogColumns, LogRecord, OtelFields, Severity

log = logging.getLogger(__name__)

PrepareStep = Callable[[list[FetchedRecord]], Batch]


# A batch is prepared and encoded a part of about this many bytes of messages at a time (~400
# events of the benchmark corpus), so that each pass over a part's columns finds them in the
# CPU cache, where passes over a whole batch (up to 20,000 messages, 2 MiB) did not. Under
# cachegrind with a 2 MiB cache, 20,000 corpus events: 180 data cache misses an event in one
# part, 118 in parts of 256 KiB, 78 of 64 KiB, 73 of 32 KiB, for the same instructions (16 KiB
# parts: +1.7k an event of their fixed cost). In-process, the step and its encoding took
# 5.0-5.2 µs an event in 64 KiB parts against 6.6-6.8 in one (batches of 12,800 messages).
_PART_BYTES = 64 * 1024
# But no fewer messages than this to a part: a part has a fixed cost (~50 µs), which large
# messages would otherwise pay every few messages.
_PART_MIN_MESSAGES = 32

# The headers of a message that has none (shared: enrichers only read them).
_NO_HEADERS: dict[str, bytes] = {}

# A row's fields: the group form's (registry.Parsed), then format, trace_flags and otel.
_Fields = tuple[
    int,
    Severity,
    str,
    str,
    str,
    str,
    str,
    str,
    str,
    dict[str, str],
    list[str],
    str,
    int,
    OtelFields | None,
]


_FIELD_COUNT = len(get_args(_Fields))

# Where a line came from: its record's position in the batch for the usual message (one event,
# no Message made), else that, its event index and its Message.
_Origin = int | tuple[int, int, Message]


class _Scanned(NamedTuple):
    """The step's first pass over a batch, in batch order: filled by `_scan.scan` for the usual
    messages and by `ColumnarStep._take` for the others (a tuple of lists: what C fills)."""

    # Each row's fields (`_Fields`), None until its group is parsed, or None for good if a
    # line its group form refused became a dead letter.
    slots: list[_Fields | None]
    # Per group of `Registry.group_forms`: its lines, their slots and where each came from.
    lines: list[list[bytes]]
    line_slots: list[list[int]]
    origins: list[list[_Origin]]
    # Per row, what enrichment reads of its message: Kafka timestamp, key, headers, topic
    # suffix; and its Kafka coordinates: topic, partition, offset, event index.
    kafka_ms: list[int]
    keys: list[bytes | None]
    headers: list[dict[str, bytes]]
    suffixes: list[str]
    topics: list[str]
    partitions: list[int]
    offsets: list[int]
    events: list[int]

    @classmethod
    def empty(cls, groups: int) -> _Scanned:
        lines: list[list[bytes]] = [[] for _ in range(groups)]
        line_slots: list[list[int]] = [[] for _ in range(groups)]
        origins: list[list[_Origin]] = [[] for _ in range(groups)]
        return cls([], lines, line_slots, origins, [], [], [], [], [], [], [], [])

    def keep(self, kept: list[int]) -> _Scanned:
        """Only the rows of these slots (a refused line that became a dead letter leaves its
        slot empty); the groups are done with by then."""
        rows = [[column[i] for i in kept] for column in (self.slots, *self[4:])]
        return _Scanned(rows[0], self.lines, self.line_slots, self.origins, *rows[1:])  # type: ignore[arg-type]


# The layout the sink takes a batch's otel_logs rows encoded in, when it has one yet
# (`ClickHouseSink.row_layout`).
Encoding = Callable[[], NativeLayout | None]


def _no_encoding() -> None:
    return None


def prepare_step(
    settings: Settings,
    ingestor: Ingestor,
    encoding: Encoding = _no_encoding,
    *,
    part_bytes: int = _PART_BYTES,
) -> PrepareStep:
    """The prepare step `Settings.ingest_path` names, where the worker's enrichers and hooks
    allow it (see the module docstring). The columnar step also encodes the rows for the
    insert in `encoding`'s layout, a part of `part_bytes` at a time."""
    if settings.ingest_path == "per_record" or ingestor.column_enrichers is None:
        return partial(prepare, ingestor)
    return ColumnarStep(ingestor, ingestor.column_enrichers, encoding, part_bytes)


def reads_kafka_records(step: PrepareStep) -> bool:
    """Whether the consumer hands `step` KafkaRecords read in C (kafka_records.py): the
    columnar step takes them; the record-by-record one keeps aiokafka's ConsumerRecords."""
    return isinstance(step, ColumnarStep)


class ColumnarStep:
    """Fetched records → Batch, as `batch.prepare` makes it (see the module docstring)."""

    def __init__(
        self,
        ingestor: Ingestor,
        enrichers: list[ColumnEnricher],
        encoding: Encoding,
        part_bytes: int,
    ) -> None:
        self.ingestor = ingestor
        self.enrichers = enrichers
        self.encoding = encoding
        self.part_bytes = part_bytes
        self.formats = parsing.load()

    def __call__(self, records: list[FetchedRecord]) -> Batch:
        try:
            return self._prepare(records)
        except Exception as exc:  # noqa: BLE001 - a bug here must not stop the stream
            log.exception(
                "columnar prepare step failed (%s); this batch goes record by record",
                first_line(exc, 200),
            )
            return prepare(self.ingestor, records)

    def _prepare(self, records: list[FetchedRecord]) -> Batch:
        batch = Batch(records=records)
        layout = self.encoding()
        blocks: list[tuple[bytes, int]] | None = [] if layout is not None else None
        parts: list[list[Sequence[object]]] = []
        messages, size = census(records)
        batch.tally.messages.update(messages)
        # A message as one event; a message framing more adds them in _take.
        batch.tally.events.update(messages)
        for part in self._parts(records, size):
            rows = self._part(part, batch)
            parts.append(columns := rows.columns())
            # Encoded now, while the part's values are in the CPU cache (the insert takes the
            # blocks; see pipeline/sink/native.py).
            if layout is not None and blocks is not None and len(rows):
                block = layout.block(columns, len(rows))
                if block is None:  # a value the C encoder does not take: the sink's insert
                    blocks = None
                else:
                    blocks.append((block, len(rows)))
        encoded = Encoded(layout, blocks) if layout is not None and blocks else None
        batch.log_rows = TableRows.of_columns(*parts, encoded=encoded)
        return batch

    def _parts(self, records: list[FetchedRecord], size: int) -> list[list[FetchedRecord]]:
        """The batch (`size` bytes of message values) in runs of about `part_bytes` of them,
        of `_PART_MIN_MESSAGES` or more."""
        count = len(records)
        per_part = max(_PART_MIN_MESSAGES, count * self.part_bytes // max(1, size))
        if per_part >= count:
            return [records] if records else []
        return [records[i : i + per_part] for i in range(0, count, per_part)]

    def _part(self, records: list[FetchedRecord], batch: Batch) -> TableRows:
        """The otel_logs rows of a run of records; their dead letters and counts go to
        `batch`."""
        tally, formats, ingestor = batch.tally, self.formats, self.ingestor
        forms = formats.group_forms
        config = (
            formats.group_table,
            formats.fallback_group,
            ingestor.topic_formats,
            ingestor.topic_suffix,
            _NO_HEADERS,
        )
        found = _Scanned.empty(len(forms))
        letters: list[tuple[int, int, DeadLetter]] = []  # (message position, index, letter)
        position = scan(records, 0, config, found)
        while position < len(records):  # at a message that is not the usual one
            self._take(records, position, found, letters, tally.events)
            position = scan(records, position + 1, config, found)
        refused = 0
        for fmt, lines, line_slots, origins in zip(
            forms, found.lines, found.line_slots, found.origins, strict=True
        ):
            if not lines:
                continue
            tail: tuple[str, int, None] = ("", 0, None)  # a group form's format, trace flags, otel
            parsed_lines: Sequence[Parsed | LogRecord | None]
            if fmt is None:
                parsed_lines = list(map(self._detect, lines))
                others: Iterable[int] = range(len(lines))
            else:
                assert fmt.parse_group is not None  # group_forms holds formats with one
                parsed_lines, tail = fmt.parse_group(lines), (fmt.name, 0, None)
                # Rows of the ASCII lines the group form parsed, in C; the others below.
                others = fill(found.slots, line_slots, lines, parsed_lines, tail)
            slots = found.slots
            for i in others:
                slot, line, parsed, origin = line_slots[i], lines[i], parsed_lines[i], origins[i]
                if parsed is None and fmt is not None:
                    parsed = self._detect(line)  # refused by the group form: as detection's
                if isinstance(parsed, LogRecord):
                    slots[slot] = _record_fields(parsed)
                elif parsed is not None:
                    if not line.isascii() and not is_utf8(line):
                        parsed[10].append("invalid_utf8")
                    slots[slot] = parsed + tail
                else:
                    position, index, outcome = self._record_path(records, origin, line)
                    if isinstance(outcome, DeadLetter):
                        letters.append((position, index, outcome))
                        refused += 1
                    else:
                        slots[slot] = _record_fields(outcome)
        if refused:
            found = found.keep([i for i, slot in enumerate(found.slots) if slot is not None])
        rows = _as_columns(found)
        tally.formats.update(rows.format)
        for enrich in self.enrichers:
            enrich(rows)
        if letters:
            letters.sort(key=lambda letter: letter[:2])  # the record path's order
            batch.dead_letters += [(letter, index) for _, index, letter in letters]
        return log_columns(rows, (found.topics, found.partitions, found.offsets, found.events))

    def _take(
        self,
        records: list[FetchedRecord],
        position: int,
        found: _Scanned,
        letters: list[tuple[int, int, DeadLetter]],
        events: Counter[str],
    ) -> None:
        """A message that is not the usual one: its events from the record path's split, each
        to its group, or parsed by the record path (several lines, or a forced format)."""
        r = records[position]
        message = self._message(r)
        lines, forced = self.ingestor.split(message)
        if isinstance(lines, DeadLetter):
            letters.append((position, 0, lines))
            return
        events[r.topic] += len(lines) - 1
        formats = self.formats
        for index, line in enumerate(lines):
            slot = len(found.slots)
            if forced is None and b"\n" not in line:
                group_index = group(line, formats.group_table, formats.fallback_group)
                found.lines[group_index].append(line)
                found.line_slots[group_index].append(slot)
                found.origins[group_index].append((position, index, message))
                found.slots.append(None)
            else:
                outcome = self.ingestor.parse_line(message, line, forced)
                if isinstance(outcome, DeadLetter):
                    letters.append((position, index, outcome))
                    continue
                found.slots.append(_record_fields(outcome))
            found.kafka_ms.append(r.timestamp)
            found.keys.append(message.key)
            found.headers.append(message.headers)
            found.suffixes.append(message.topic_suffix)
            found.topics.append(r.topic)
            found.partitions.append(r.partition)
            found.offsets.append(r.offset)
            found.events.append(index)

    def _record_path(
        self, records: list[FetchedRecord], origin: _Origin, line: bytes
    ) -> tuple[int, int, LogRecord | DeadLetter]:
        """Where a line of no forced format came from (record position, event index) and the
        record path's outcome for it."""
        if isinstance(origin, int):
            position, index, message = origin, 0, self._message(records[origin])
        else:
            position, index, message = origin
        return position, index, self.ingestor.parse_line(message, line, None)

    def _detect(self, line: bytes) -> LogRecord | None:
        """Detection and the parser, without the rest of the record path; None when a parser
        raised (the record path makes that line's dead letter)."""
        try:
            record = parsing.parse(line)
        except Exception:  # noqa: BLE001 - reported by the record path
            return None
        if not line.isascii() and not is_utf8(line):
            record.flags.append("invalid_utf8")
        return record

    def _message(self, r: FetchedRecord) -> Message:
        return self.ingestor.message(
            r.topic, r.partition, r.offset, r.timestamp, r.value, r.key, r.headers
        )


def _record_fields(record: LogRecord) -> _Fields:
    return (
        record.timestamp_ns,
        record.severity,
        record.level,
        record.service,
        record.host,
        record.logger,
        record.trace_id,
        record.span_id,
        record.body,
        record.attributes,
        record.flags,
        record.format,
        record.trace_flags,
        record.otel,
    )


def _as_columns(found: _Scanned) -> LogColumns:
    """Rows of fields (and their messages' facts) as columns: transposed in C."""
    rows = found.slots
    if not rows:
        return LogColumns()
    c = transpose(rows, _FIELD_COUNT)
    return LogColumns(
        timestamp_ns=c[0],
        severity=c[1],
        level=c[2],
        service=c[3],
        host=c[4],
        logger=c[5],
        trace_id=c[6],
        span_id=c[7],
        body=c[8],
        attributes=c[9],
        flags=c[10],
        format=c[11],
        trace_flags=c[12],
        otel=c[13],
        # LogRecord's own defaults, for a worker without the template enricher (which sets
        # both); without them a row would have no TemplateId and no row would be made.
        template_id=[0] * len(rows),
        template=[""] * len(rows),
        kafka_ms=found.kafka_ms,
        key=found.keys,
        headers=found.headers,
        topic_suffix=found.suffixes,
    )
