"""Fetched Kafka record batches read into KafkaRecords in C, for the columnar ingest path.

aiokafka turns every fetched message into a Cython record and then a `ConsumerRecord`
dataclass, made in Python by a generator: 1.2-1.8 µs a message on this host, about 10,000 of
the columnar step's 58,000 instructions an event. For a consumer made with
`value_deserializer=keep_value`, the fetcher's partition records come from `_BatchRecords`
instead: each record batch is checked once with aiokafka's own code (framing, magic, CRC,
control batches) and, when it is an uncompressed v2 batch (what producers send unless told to
compress), read by `_scan.records_of` into `KafkaRecord`s, C objects with the fields the
worker reads. Compressed, legacy (v0/v1) and read-committed batches keep aiokafka's decoding,
each record then copied into a KafkaRecord. `getmany` takes the records a batch at a time
(`_BatchFetchResult`) rather than a record at a time. Offsets, positions and what getmany
returns are aiokafka's: only the objects differ, and every other consumer in the process is
untouched.

aiokafka has no hook for this: `install` replaces three names in its fetcher module, guarded by
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
    """aiokafka's PartitionRecords for a `keep_value` consumer: KafkaRecords, a record batch
    at a time (`take`)."""

    next_fetch_offset: int

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._batches = self._batch_records()
        self._batch: list[KafkaRecord] = []  # the records of the batch being taken
        self._taken = 0  # how many of them
        self._batch_end: int | None = None  # the offset past the batch, once it is all taken

    def take(self, most: int | None) -> list[KafkaRecord]:
        """The next `most` records (None: all left), fewer once none is left; the fetch
        position (`next_fetch_offset`) is then past them, as aiokafka's iteration leaves it."""
        taken: list[KafkaRecord] = []
        while most is None or len(taken) < most:
            batch, at = self._batch, self._taken
            if at == len(batch):
                if self._batch_end is not None:
                    self.next_fetch_offset = max(self.next_fetch_offset, self._batch_end)
                following = next(self._batches, None)
                if following is None:
                    break
                self._batch, self._batch_end = following
                self._taken = 0
                continue
            end = len(batch) if most is None else min(len(batch), at + most - len(taken))
            taken += batch[at:end]
            self._taken = end
            self.next_fetch_offset = max(self.next_fetch_offset, batch[end - 1].offset + 1)
        return taken

    def __iter__(self) -> Iterator[Any]:
        # The records' generator itself: aiokafka's __iter__ returns the object, whose
        # __next__, a Python method, then costs a frame per record (getall takes them with
        # `take` instead: _BatchFetchResult).
        return self._records_iterator or iter(())

    def _unpack_records(self) -> Iterator[Any]:
        # aiokafka's iteration (getone; getall but for a _BatchFetchResult), one at a time.
        while taken := self.take(1):
            yield taken[0]

    def _batch_records(self) -> Iterator[tuple[list[KafkaRecord], int | None]]:
        """The fetch's records a batch at a time, each with the offset past its batch (None:
        aiokafka's decoding, which moves the fetch position itself as it yields)."""
        data = getattr(self._records, "data", None)
        if type(data) is not bytes or self._isolation_level != fetcher.READ_UNCOMMITTED:
            # Aborted transactions are skipped by aiokafka's own code.
            for record in super()._unpack_records():
                yield [self._copy(record)], None
            return
        view = memoryview(data)
        for start, end in self._framed(data):
            if data[start + 16] != 2:  # a legacy message set
                for record in self._legacy(data[start:end]):
                    yield [self._copy(record)], None
                continue
            if end - start < _V2_HEADER:
                raise CorruptRecordException(f"a v2 batch of {end - start} bytes - {self._tp}")
            batch = DefaultRecordBatch(view[start:end])
            if self._check_crcs and not batch.validate_crc():
                raise CorruptRecordException(f"Invalid CRC - {self._tp}")
            # Past control batches, and records compaction removed from a batch's end.
            after = max(self.next_fetch_offset, batch.next_offset)
            if batch.is_control_batch:  # (it holds transaction markers)
                yield [], after
            elif batch.compression_type:  # decompressed and read by aiokafka
                yield [self._copy(r) for r in batch if r.offset >= self.next_fetch_offset], after
            else:  # read in C
                tp = self._tp
                yield (
                    records_of(data, start, end, tp.topic, tp.partition, self.next_fetch_offset),
                    after,
                )

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


class _BatchFetchResult(fetcher.FetchResult):  # type: ignore[misc]
    """aiokafka's FetchResult; `getall` takes a `_BatchRecords`' records a batch at a time
    (aiokafka's loop appends them one at a time: ~100 ns a record, 2% of a worker's time)."""

    _partition_records: Any

    def getall(self, max_records: int | None = None) -> list[Any]:
        records = self._partition_records
        if type(records) is not _BatchRecords:
            return super().getall(max_records)  # type: ignore[no-any-return]
        if not self.check_assignment(self._topic_partition) or not self.has_more():
            return []
        taken = records.take(max_records)
        self._update_position()
        if max_records is None or len(taken) < max_records:
            self._partition_records = None  # all taken, as aiokafka's loop ends
        return taken


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
    fetcher.FetchResult = _BatchFetchResult
