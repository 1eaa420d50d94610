"""Two prepare steps, one output: the same Kafka records through today's record-by-record
step (`pipeline.ingest.batch.prepare`) and the columnar one (`Settings.ingest_path="columnar"`),
each with a fresh Ingestor, and every row, column, dead letter and count asserted identical.

"Identical" is strict: equal values of the same type (an IntEnum or a numpy integer where the
record-by-record step has an int is a difference), maps with their keys in the same order
(ClickHouse keeps a Map's order, and users see it), counters with the same keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from aiokafka.structs import ConsumerRecord

from pipeline.ingest import batch as per_record
from pipeline.ingest import columnar
from pipeline.ingest.batch import Batch
from pipeline.ingest.ingestor import Ingestor
from pipeline.settings import Settings
from pipeline.sink.tables import LOG_COLUMNS

PATHS = ("per_record", "columnar")
TOPIC = "logs.raw"
# Kafka times: now, so that lines of the past are flagged (time_past, time_expired) and those
# of today are not; and 2024-01-02T00:00:00Z, so that today's lines are time_future.
NOW_MS = int(time.time() * 1000)
PAST_MS = 1_704_153_600_000

_PARTITIONS = 4
# The columnar step takes a batch a part of about this many bytes of messages at a time (here
# the fewest messages it puts in a part, 32; ~64 KiB in a worker), so that rows across part
# boundaries are compared too.
PART_BYTES = 512
_SHOWN = 160  # characters of a value's repr in a failure message
_PARTITION = LOG_COLUMNS.index("KafkaPartition")
_OFFSET = LOG_COLUMNS.index("KafkaOffset")
_INDEX = LOG_COLUMNS.index("KafkaEventIndex")
_TOPIC = LOG_COLUMNS.index("KafkaTopic")


class Message(NamedTuple):
    """One Kafka message to send (partition and offset are given by `consumer_records`)."""

    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    topic: str = TOPIC
    timestamp_ms: int = NOW_MS


def consumer_records(messages: Iterable[Message]) -> list[ConsumerRecord]:
    """The records a consumer would fetch: spread over partitions, each at its own offset."""
    return [
        ConsumerRecord(
            m.topic,
            i % _PARTITIONS,
            i,
            m.timestamp_ms,
            0,
            m.key,
            m.value,
            None,
            len(m.key or b""),
            len(m.value or b""),
            m.headers,
        )
        for i, m in enumerate(messages)
    ]


def compare(
    records: list[ConsumerRecord],
    *,
    reset: Callable[[], object] | None = None,
    **settings_overrides: object,
) -> Batch:
    """Assert both steps make the same batch of `records` in one call each; return the
    record-by-record batch (for tests to check their inputs did exercise what they meant).
    `reset` runs before each step, for state outside the Ingestor (a stateful hook's)."""
    (expected,) = _compare([records], reset, settings_overrides)
    return expected


def compare_in_chunks(
    records: list[ConsumerRecord],
    size: int = 500,
    *,
    reset: Callable[[], object] | None = None,
    **settings_overrides: object,
) -> list[Batch]:
    """As `compare`, the records fed `size` at a time to one Ingestor per step, as a worker
    sees batch after batch: what an Ingestor learns (templates) carries over, and every batch
    must match its counterpart."""
    chunks = [records[i : i + size] for i in range(0, len(records), size)]
    return _compare(chunks, reset, settings_overrides)


def _compare(
    chunks: Sequence[list[ConsumerRecord]],
    reset: Callable[[], object] | None,
    overrides: dict[str, object],
) -> list[Batch]:
    # Settings ignores names it does not know: a misspelt override would test nothing.
    unknown = set(overrides) - set(Settings.model_fields)
    if unknown:
        raise TypeError(f"not settings: {', '.join(sorted(unknown))}")
    inputs = {(r.topic, r.partition, r.offset): r.value for chunk in chunks for r in chunk}
    outputs: dict[str, list[Batch]] = {}
    for path in PATHS:
        if reset is not None:
            reset()
        settings = Settings(ingest_path=path, **overrides)  # type: ignore[arg-type]
        ingestor = Ingestor(settings)
        # The reference is today's step itself, not whatever `prepare_step` picks for
        # "per_record", so a slip in that choice cannot make both sides the new code.
        step = (
            (lambda records, ingestor=ingestor: per_record.prepare(ingestor, records))
            if path == "per_record"
            else columnar.prepare_step(settings, ingestor, part_bytes=PART_BYTES)
        )
        # A copy each: a step that reorders or empties the list it is given must not change
        # the other's input.
        with _fallbacks() as fell_back:
            outputs[path] = [step(list(chunk)) for chunk in chunks]
        # The columnar step answers its own failure with the record path's batch: equal
        # output, so only its log can tell that the columnar code did not run.
        assert not fell_back, f"the columnar step failed and fell back: {fell_back[0]}"
    for number, (chunk, expected, actual) in enumerate(
        zip(chunks, outputs["per_record"], outputs["columnar"], strict=True)
    ):
        where = f"batch {number + 1} of {len(chunks)}"
        _same_batch(expected, actual, chunk, inputs, where)
    return outputs["per_record"]


@contextmanager
def _fallbacks() -> Iterator[list[str]]:
    """The errors the columnar step logs while in the block (its fallback to the record
    path)."""
    found: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: found.append(  # type: ignore[method-assign]
        f"{record.getMessage()} ({record.exc_info[1]!r})"
        if record.exc_info
        else record.getMessage()
    )
    logger = logging.getLogger(columnar.__name__)
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


def _same_batch(
    expected: Batch,
    actual: Batch,
    chunk: list[ConsumerRecord],
    inputs: dict[tuple[str, int, int], bytes | None],
    where: str,
) -> None:
    _same_rows(expected.log_rows, actual.log_rows, inputs, where)
    _same_dead_letters(expected, actual, where)
    for counter in ("messages", "events", "formats"):
        mine, theirs = getattr(expected.tally, counter), getattr(actual.tally, counter)
        # dict(): Counter's own == treats a missing key as 0, but a key counted 0 is a
        # metric series that would not exist otherwise.
        assert dict(theirs) == dict(mine), (
            f"tally.{counter} ({where}): per_record={dict(mine)} columnar={dict(theirs)}"
        )
    assert actual.tally.dropped == expected.tally.dropped, (
        f"tally.dropped ({where}): per_record={expected.tally.dropped} "
        f"columnar={actual.tally.dropped}"
    )
    # The writer looks up a refused row's original message in `records`.
    assert list(actual.records) == chunk, (
        f"Batch.records ({where}): the columnar batch does not hold the records it was given "
        f"({len(actual.records)} records, {len(chunk)} given)"
    )


def _same_rows(
    expected: list[tuple[object, ...]],
    actual: list[tuple[object, ...]],
    inputs: dict[tuple[str, int, int], bytes | None],
    where: str,
) -> None:
    if len(actual) != len(expected):
        first = next(
            (
                i
                for i, (e, a) in enumerate(zip(expected, actual, strict=False))
                if _coordinates(e) != _coordinates(a)
            ),
            min(len(expected), len(actual)),
        )
        shown = expected[first] if first < len(expected) else actual[first]
        raise AssertionError(
            f"number of rows ({where}): per_record={len(expected)} columnar={len(actual)}; "
            f"first row that differs in its Kafka coordinates: row {first}, "
            f"{_input(shown, inputs)}"
        )
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        if len(a) != len(LOG_COLUMNS):
            raise AssertionError(
                f"row {i} ({where}) has {len(a)} values, not one per LOG_COLUMNS "
                f"({len(LOG_COLUMNS)}); {_input(e, inputs)}"
            )
        for column, x, y in zip(LOG_COLUMNS, e, a, strict=True):
            if _quick_same(x, y):
                continue
            difference = _difference(x, y)
            if difference:
                raise AssertionError(
                    f"column {column!r}, row {i} ({where}), {_input(e, inputs)}: {difference}"
                )


def _same_dead_letters(expected: Batch, actual: Batch, where: str) -> None:
    def fields(batch: Batch) -> list[tuple[object, ...]]:
        return [
            (d.reason, d.detail, d.raw, d.topic, d.partition, d.offset, d.timestamp_ms, index)
            for d, index in batch.dead_letters
        ]

    names = ("reason", "detail", "raw", "topic", "partition", "offset", "timestamp_ms", "index")
    mine, theirs = fields(expected), fields(actual)
    if len(mine) != len(theirs):
        raise AssertionError(
            f"number of dead letters ({where}): per_record={len(mine)} columnar={len(theirs)}; "
            f"per_record: {_short([(m[0], m[3:6]) for m in mine])} "
            f"columnar: {_short([(t[0], t[3:6]) for t in theirs])}"
        )
    for i, (m, t) in enumerate(zip(mine, theirs, strict=True)):
        for name, x, y in zip(names, m, t, strict=True):
            difference = _difference(x, y)
            if difference:
                raise AssertionError(
                    f"dead letter {i} ({where}), field {name!r}, input {_short(m[2])}: {difference}"
                )


def _coordinates(row: tuple[object, ...]) -> tuple[object, ...]:
    return row[_TOPIC], row[_PARTITION], row[_OFFSET], row[_INDEX]


def _input(row: tuple[object, ...], inputs: dict[tuple[str, int, int], bytes | None]) -> str:
    topic, partition, offset, index = _coordinates(row)
    value = inputs.get((topic, partition, offset))  # type: ignore[arg-type]
    return (
        f"input topic={topic!r} partition={partition} offset={offset} event {index}: "
        f"{_short(value)}"
    )


def _quick_same(x: object, y: object) -> bool:
    """Whether `_difference` would find nothing, in C loops rather than a call per item; the
    types inside a map or list are checked one level deep, as deep as a row's columns go."""
    if type(x) is not type(y) or x != y:
        return False
    if type(x) is dict:
        return (
            list(x) == list(y)  # type: ignore[call-overload]
            and list(map(type, x)) == list(map(type, y))  # type: ignore[call-overload]
            and list(map(type, x.values())) == list(map(type, y.values()))  # type: ignore[attr-defined]
        )
    if type(x) is list or type(x) is tuple:
        return list(map(type, x)) == list(map(type, y))  # type: ignore[call-overload]
    return True


def _difference(expected: object, actual: object) -> str:
    """'' when the two are identical (type, value, map key order), else what differs."""
    if type(expected) is not type(actual):
        return (
            f"per_record={_short(expected)} ({type(expected).__name__}) "
            f"columnar={_short(actual)} ({type(actual).__name__})"
        )
    if isinstance(expected, dict):
        mine, theirs = list(expected.items()), list(actual.items())  # type: ignore[attr-defined]
        order = " (the same items in another order)" if dict(mine) == dict(theirs) else ""
        return _first_difference("map", mine, theirs, order)
    if isinstance(expected, list | tuple):
        return _first_difference("sequence", expected, actual, "")  # type: ignore[arg-type]
    if expected != actual:
        return f"per_record={_short(expected)} columnar={_short(actual)}"
    return ""


def _first_difference(
    kind: str, expected: Sequence[object], actual: Sequence[object], note: str
) -> str:
    for k, (m, t) in enumerate(zip(expected, actual, strict=False)):
        if _difference(m, t):
            return (
                f"{kind}s differ at item {k}{note}: per_record has {_short(m)}, columnar "
                f"{_short(t)}; per_record={_short(expected)} columnar={_short(actual)}"
            )
    if len(expected) != len(actual):
        return (
            f"{kind}s differ in length ({len(expected)}, {len(actual)}): "
            f"per_record={_short(expected)} columnar={_short(actual)}"
        )
    return ""


def _short(value: object) -> str:
    text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]}… ({len(text)} characters)"
