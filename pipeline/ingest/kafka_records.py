"""Fetched Kafka record batches read into KafkaRecords in C, for the columnar ingest path.

aiokafka turns every fetched message into a Cython record and then a `ConsumerRecord`
dataclass, made in Python by a generator: 1.2-1.8 µs a message on this host, about 10,000 of
the columnar step's 58,000 instructions an event. For a consumer made with
`value_deserializer=keep_value`, the fetcher's partition records come from `_BatchRecords`
instead: each record batch is checked once with aiokafka's own code (framing, magic, CRC,
control batches) and, when it is an uncompressed v2 batch (what producers send unless told to
compress), read by `_scan.records_of` into `KafkaRecord`s, C objects with the fields the
worker reads. Compressed, legacy (v0/v1) and read-committed batches keep aiokafka's decoding,
each record then copied into a KafkaRecord. Offsets, positions and what getmany returns are
aiokafka's: only the objects differ, and every other consumer in the process is untouched.

aiokafka has no hook for this: `install` replaces two names in its fetcher module, guarded by
the exact version pyproject.toml pins (tests/unit/ingest/test_kafka_records.py compares the
records with aiokafka's own, and tests/integration reads compressed and uncompressed topics).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiokafka
from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.record.memory_records import MemoryRecords

from pipeline.ingest._scan import KafkaRecord, records_of

# The aiokafka whose fetcher internals this module was written against (pyproject.toml pins it).
AIOKAFKA_VERSION = "0.14.0"

_PartitionRecords = fetcher.PartitionRecords
_HEADER = 17  # base offset, length, leader epoch, magic: enough to frame a batch
_V2_HEADER = 61  # a v2 batch's header, all of it before its records


def keep_value(value: bytes | None) -> bytes | None:
    """The value as fetched: the value deserializer that marks a consumer as reading
    KafkaRecords (aiokafka calls it only on the paths that keep its own decoding)."""
    return value


class _KeptMemoryRecords(MemoryRecords):  # type: ignore[misc]
    """aiokafka's MemoryRecords, keeping the fetched bytes for `_BatchRecords`."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.data = data


class _BatchRecords(_PartitionRecords):  # type: ignore[misc,valid-type]
    """aiokafka's PartitionRecords for a `keep_value` consumer: yields KafkaRecords."""

    next_fetch_offset: int

    def __iter__(self) -> Iterator[Any]:
        # The records' generator itself: aiokafka's __iter__ returns the object, whose
        # __next__, a Python method, then costs a frame per record (~600 instructions).
        return self._records_iterator or iter(())

    def _unpack_records(self) -> Iterator[Any]:
        data = getattr(self._records, "data", None)
        if type(data) is not bytes or self._isolation_level != fetcher.READ_UNCOMMITTED:
            # Aborted transactions are skipped by aiokafka's own code.
            yield from map(self._copy, super()._unpack_records())
            return
        view = memoryview(data)
        for start, end in self._framed(data):
            if data[start + 16] != 2:  # a legacy message set
                yield from map(self._copy, self._legacy(data[start:end]))
                continue
            if end - start < _V2_HEADER:
                raise CorruptRecordException(f"a v2 batch of {end - start} bytes - {self._tp}")
            batch = DefaultRecordBatch(view[start:end])
            if self._check_crcs and not batch.validate_crc():
                raise CorruptRecordException(f"Invalid CRC - {self._tp}")
            if batch.compression_type and not batch.is_control_batch:
                yield from self._decompressed(batch)
            elif not batch.is_control_batch:  # (a control batch holds transaction markers)
                # Read in C; looped here rather than in a generator of its own (one fewer to
                # resume per record).
                tp = self._tp
                offset = self.next_fetch_offset
                for kept in records_of(data, start, end, tp.topic, tp.partition, offset):
                    self.next_fetch_offset = kept.offset + 1  # as each is yielded, as aiokafka
                    yield kept
            # Past control batches, and records compaction removed from a batch's end.
            self.next_fetch_offset = max(self.next_fetch_offset, batch.next_offset)

    def _decompressed(self, batch: DefaultRecordBatch) -> Iterator[KafkaRecord]:
        """A compressed batch's records, decompressed and read by aiokafka."""
        for record in batch:
            if record.offset >= self.next_fetch_offset:
                self.next_fetch_offset = record.offset + 1
                yield self._copy(record)

    def _framed(self, data: bytes) -> Iterator[tuple[int, int]]:
        """Where each whole batch of a fetch's data starts and ends; a batch cut off at the
        fetch's size limit is left for the next fetch, which starts there."""
        start, size = 0, len(data)
        while size - start >= _HEADER:
            end = start + 12 + int.from_bytes(data[start + 8 : start + 12], "big")
            if end < start + _HEADER:
                raise CorruptRecordException(f"a batch of {end - start} bytes - {self._tp}")
            if end > size:
                return
            yield start, end
            start = end

    def _legacy(self, data: bytes) -> Iterator[Any]:
        """A v0/v1 message set through aiokafka's own decoding."""
        self._records = MemoryRecords(data)
        return super()._unpack_records()

    def _copy(self, record: Any) -> KafkaRecord:
        """A record of aiokafka's (its Cython record or a ConsumerRecord) as a KafkaRecord."""
        return KafkaRecord(
            self._tp.topic,
            self._tp.partition,
            record.offset,
            record.timestamp,
            record.key,
            record.value,
            tuple(record.headers),
        )


def _partition_records(*args: Any) -> Any:
    """The fetcher's PartitionRecords, or `_BatchRecords` for a `keep_value` consumer (its
    value deserializer is the seventh argument: tp, records, aborted transactions, fetch
    offset, key and value deserializers, check_crcs, isolation level)."""
    kind = _BatchRecords if args[5] is keep_value else _PartitionRecords
    return kind(*args)


def install() -> None:
    """Route `keep_value` consumers' fetches through `_BatchRecords` (idempotent)."""
    if aiokafka.__version__ != AIOKAFKA_VERSION:
        raise RuntimeError(
            f"pipeline/ingest/kafka_records.py reads aiokafka {AIOKAFKA_VERSION}'s fetcher "
            f"internals; aiokafka {aiokafka.__version__} is installed"
        )
    fetcher.MemoryRecords = _KeptMemoryRecords
    fetcher.PartitionRecords = _partition_records
