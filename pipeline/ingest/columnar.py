"""The columnar prepare step: a fetched batch parsed a format group at a time.

The record-by-record path (`batch.prepare`) builds a Message and a LogRecord per event, runs
detection, the parser and seven enrichers per event, then a row: profiled, those per-event
objects and calls cost more than the parsing itself. Here a batch is taken in passes:

1. A message's events (one, or several by its framing) each go to the format detection would
   offer them to first (`Registry.group_of`, the registry's own order and guards), if that
   format has a group form (`parse_group`); the others are detected and parsed at once,
   without the rest of the record path. Events of several lines (tracebacks) and events of a
   forced format take the record path's parsing (`Ingestor.parse_line`), as do empty
   messages and bad framing headers (`Ingestor.split`: their dead letters). The usual
   message, one event and no headers, makes no Message at all.
2. Each format group is parsed in one call; a line its group form refuses is parsed record by
   record, which goes on down the detection order exactly as `batch.prepare` would.
3. Every row, of either kind, in batch order, becomes a column entry; the enrichers' column
   forms run over the whole batch, templates in one pass in offset order (the miner's ids
   depend on the order it sees bodies); then the rows.

Both paths store the same rows, dead letters and counts for every input
(tests/unit/ingest/test_columnar_identity.py compares them column by column over real-world
and hostile input). `Settings.ingest_path` picks the path; user hooks (they see each record)
and enrichers without a column form keep a worker on the record-by-record path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from operator import attrgetter

from aiokafka.structs import ConsumerRecord

from pipeline import parsing
from pipeline.enrich.registry import ColumnEnricher
from pipeline.errors import first_line
from pipeline.ingest.batch import Batch, prepare
from pipeline.ingest.ingestor import Ingestor, is_utf8
from pipeline.ingest.message import Message
from pipeline.parsing.registry import Format
from pipeline.settings import Settings
from pipeline.sink.tables import log_columns
from schemas.records import DeadLetter, LogColumns, LogRecord, OtelFields, Severity

log = logging.getLogger(__name__)

PrepareStep = Callable[[list[ConsumerRecord]], Batch]

_topic_of = attrgetter("topic")

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


# What enrichment reads of a row's message: Kafka timestamp, key, headers, topic suffix.
_Facts = tuple[int, bytes | None, dict[str, bytes], str]
# A row's Kafka topic, partition, offset and event index.
_Coordinate = tuple[str, int, int, int]
# Where a line came from: its record's position in the batch, its event index, its Message
# (None when the message took the path that makes none).
_Origin = tuple[int, int, Message | None]


def prepare_step(settings: Settings, ingestor: Ingestor) -> PrepareStep:
    """The prepare step `Settings.ingest_path` names, where the worker's enrichers and hooks
    allow it (see the module docstring)."""
    if settings.ingest_path == "per_record" or ingestor.column_enrichers is None:
        return partial(prepare, ingestor)
    return ColumnarStep(ingestor, ingestor.column_enrichers)


class ColumnarStep:
    """Fetched records → Batch, as `batch.prepare` makes it (see the module docstring)."""

    def __init__(self, ingestor: Ingestor, enrichers: list[ColumnEnricher]) -> None:
        self.ingestor = ingestor
        self.enrichers = enrichers
        self.formats = parsing.load()

    def __call__(self, records: list[ConsumerRecord]) -> Batch:
        try:
            return self._prepare(records)
        except Exception as exc:  # noqa: BLE001 - a bug here must not stop the stream
            log.exception(
                "columnar prepare step failed (%s); this batch goes record by record",
                first_line(exc, 200),
            )
            return prepare(self.ingestor, records)

    def _prepare(self, records: list[ConsumerRecord]) -> Batch:
        batch = Batch(records=records)
        tally = batch.tally
        ingestor, group_of, detect = self.ingestor, self.formats.group_of, self._detect
        suffix = ingestor.topic_suffix
        topic_formats = ingestor.topic_formats
        # Row slots in batch order, each a row's fields (`_Fields`), None until its group is
        # parsed, or None for good if a line its group form refused became a dead letter.
        slots: list[_Fields | None] = []
        # Per slot, what enrichment reads of its message (Kafka timestamp, key, headers,
        # topic suffix) and its Kafka coordinates (topic, partition, offset, event index).
        facts: list[_Facts] = []
        coordinates: list[tuple[str, int, int, int]] = []
        # Per format with a group form: its lines' slots, the lines, and where each came from
        # (record position, event index, Message if one was made), for a line it refuses.
        groups: dict[str, tuple[Format, list[int], list[bytes], list[_Origin]]] = {}
        letters: list[tuple[int, int, DeadLetter]] = []  # (message position, index, letter)

        def take(line: bytes, origin: _Origin, fact: _Facts, coordinate: _Coordinate) -> None:
            """A line of one event, no forced format: its group, or detection at once."""
            fmt = group_of(line)
            if fmt is not None:
                # By name: a Format's own hash is a Python call hashing all its fields.
                found = groups.get(fmt.name)
                if found is None:
                    found = groups[fmt.name] = (fmt, [], [], [])
                found[1].append(len(slots))
                found[2].append(line)
                found[3].append(origin)
                slots.append(None)
            else:
                # A parser that raised: the record path makes the line's dead letter.
                outcome = detect(line) or self._record_path(records, origin, line)
                if isinstance(outcome, DeadLetter):
                    letters.append((origin[0], origin[1], outcome))
                    return
                slots.append(_record_fields(outcome))
            facts.append(fact)
            coordinates.append(coordinate)

        # Counted in C, a message as one event; a message framing more adds them below.
        tally.messages.update(map(_topic_of, records))
        tally.events.update(tally.messages)
        # A batch's records nearly all have one topic (the same object): its facts once.
        last_topic, topic_suffix, topic_forced = None, "", False
        for position, r in enumerate(records):
            topic = r.topic
            if topic is not last_topic:
                last_topic, topic_suffix = topic, suffix(topic)
                topic_forced = topic in topic_formats
            value = r.value
            if value and not topic_forced and not r.headers:
                line = value.strip()
                if line and b"\n" not in line:  # the usual message: one event, no headers
                    take(
                        line,
                        (position, 0, None),
                        (r.timestamp, r.key, _NO_HEADERS, topic_suffix),
                        (topic, r.partition, r.offset, 0),
                    )
                    continue
            message = self._message(r)
            lines, forced = ingestor.split(message)
            if isinstance(lines, DeadLetter):
                letters.append((position, 0, lines))
                continue
            tally.events[topic] += len(lines) - 1
            fact = (r.timestamp, message.key, message.headers, message.topic_suffix)
            for index, line in enumerate(lines):
                coordinate = (topic, r.partition, r.offset, index)
                if forced is None and b"\n" not in line:
                    take(line, (position, index, message), fact, coordinate)
                    continue
                outcome = ingestor.parse_line(message, line, forced)
                if isinstance(outcome, DeadLetter):
                    letters.append((position, index, outcome))
                else:
                    slots.append(_record_fields(outcome))
                    facts.append(fact)
                    coordinates.append(coordinate)
        refused = 0
        for fmt, indices, lines, origins in groups.values():
            tail, parse_group = (fmt.name, 0, None), fmt.parse_group
            assert parse_group is not None  # group_of offers only formats with one
            parsed_lines = parse_group(lines)
            for slot, line, parsed, origin in zip(
                indices, lines, parsed_lines, origins, strict=True
            ):
                if parsed is not None:
                    if not line.isascii() and not is_utf8(line):
                        parsed[10].append("invalid_utf8")
                    slots[slot] = parsed + tail
                    continue
                outcome = self._record_path(records, origin, line)
                if isinstance(outcome, DeadLetter):
                    letters.append((origin[0], origin[1], outcome))
                    refused += 1
                else:
                    slots[slot] = _record_fields(outcome)
        if refused:
            kept = [i for i, slot in enumerate(slots) if slot is not None]
            slots = [slots[i] for i in kept]
            facts = [facts[i] for i in kept]
            coordinates = [coordinates[i] for i in kept]
        rows = _as_columns(slots, facts)  # type: ignore[arg-type]
        tally.formats.update(rows.format)
        for enrich in self.enrichers:
            enrich(rows)
        batch.log_rows = log_columns(rows, coordinates)
        if letters:
            letters.sort(key=lambda found: found[:2])  # the record path's order
            batch.dead_letters = [(letter, index) for _, index, letter in letters]
        return batch

    def _record_path(
        self, records: list[ConsumerRecord], origin: _Origin, line: bytes
    ) -> LogRecord | DeadLetter:
        """The record path's outcome for one line of no forced format."""
        position, _, message = origin
        if message is None:
            message = self._message(records[position])
        return self.ingestor.parse_line(message, line, None)

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

    def _message(self, r: ConsumerRecord) -> Message:
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


def _as_columns(rows: list[_Fields], facts: list[_Facts]) -> LogColumns:
    """Rows of fields (and their messages' facts) as columns: transposed by zip, in C."""
    if not rows:
        return LogColumns()
    c = [list(column) for column in zip(*rows, strict=True)]
    kafka_ms, key, headers, topic_suffix = (list(column) for column in zip(*facts, strict=True))
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
        kafka_ms=kafka_ms,
        key=key,
        headers=headers,
        topic_suffix=topic_suffix,
    )
