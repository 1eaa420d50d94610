"""KafkaRecords read from fetched record batches in C hold what aiokafka's own decoding gives,
for every batch kind a broker sends: uncompressed and compressed v2 batches, legacy message
sets, control batches, log-append time, fetch positions inside a batch, batches cut off at a
fetch's end, headers and null keys and values; and a corrupt batch is refused as aiokafka
refuses it. Real fetches through a broker: tests/integration/test_kafka_records.py."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.legacy_records import LegacyRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from pipeline.ingest import kafka_records
from pipeline.ingest._scan import KafkaRecord, records_of
from pipeline.ingest.testing import OnePartitionAssignment

TP = TopicPartition("logs.raw", 3)
FIELDS = ("topic", "partition", "offset", "timestamp", "key", "value", "headers")

Message = tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]


def v2_batch(
    base_offset: int,
    messages: list[Message],
    compression: int = 0,
    log_append_time: int | None = None,
    control: bool = False,
) -> bytes:
    """A v2 batch as a broker stores it: offsets from `base_offset`, one a message."""
    builder = DefaultRecordBatchBuilder(2, compression, 0, -1, -1, -1, 1 << 30)
    for delta, (timestamp, key, value, headers) in enumerate(messages):
        assert builder.append(delta, timestamp, key, value, headers) is not None
    raw = bytearray(builder.build())
    struct.pack_into(">q", raw, 0, base_offset)  # set by the broker, outside the CRC
    attributes = struct.unpack_from(">h", raw, 21)[0]
    if log_append_time is not None:
        attributes |= 0x08
        struct.pack_into(">q", raw, 35, log_append_time)
    if control:
        attributes |= 0x20
    struct.pack_into(">h", raw, 21, attributes)
    struct.pack_into(">I", raw, 17, calc_crc32c(bytes(raw[21:])))
    return bytes(raw)


def legacy_set(base_offset: int, messages: list[Message]) -> bytes:
    builder = LegacyRecordBatchBuilder(1, 0, 1 << 30)
    for delta, (timestamp, key, value, _) in enumerate(messages):
        builder.append(base_offset + delta, timestamp, key, value)
    return bytes(builder.build())


def aiokafka_reads(data: bytes, fetch_offset: int, kind: Any = fetcher.PartitionRecords) -> list:
    records = kind(TP, kafka_records._KeptMemoryRecords(data), [], fetch_offset, None,
                   kafka_records.keep_value, True, fetcher.READ_UNCOMMITTED)  # fmt: skip
    return list(records)


def fields(record: Any) -> tuple[Any, ...]:
    return tuple(
        tuple(getattr(record, name)) if name == "headers" else getattr(record, name)
        for name in FIELDS
    )


def compare(data: bytes, fetch_offset: int = 0) -> list[KafkaRecord]:
    """What the C reading gives, checked against aiokafka's, and the positions after both."""
    theirs_source = fetcher.PartitionRecords(TP, MemoryRecords(data), [], fetch_offset, None,
                                             None, True, fetcher.READ_UNCOMMITTED)  # fmt: skip
    theirs = list(theirs_source)
    ours_source = kafka_records._BatchRecords(
        TP, kafka_records._KeptMemoryRecords(data), [], fetch_offset, None,
        kafka_records.keep_value, True, fetcher.READ_UNCOMMITTED,
    )  # fmt: skip
    ours = list(ours_source)
    assert all(type(r) is KafkaRecord for r in ours)
    assert [fields(r) for r in ours] == [fields(r) for r in theirs]
    assert ours_source.next_fetch_offset == theirs_source.next_fetch_offset
    return ours


MESSAGES: list[Message] = [
    (1_700_000_000_000, None, b"plain line", []),
    (1_700_000_000_005, b"key-1", b'{"level":"info"}', [("trace", b"abc"), ("empty", None)]),
    (1_699_999_999_000, b"", None, []),
    (1_700_000_000_005, None, b"", [("\u00e9t\u00e9", b"\xff\x00")]),
    (1_700_000_000_009, b"k" * 300, b"v" * 70_000, [("h", b"x" * 200)] * 3),
]


def test_an_uncompressed_batch_reads_as_aiokafka_reads_it() -> None:
    ours = compare(v2_batch(1_000, MESSAGES))
    assert [r.offset for r in ours] == [1_000, 1_001, 1_002, 1_003, 1_004]
    assert ours[1].headers == (("trace", b"abc"), ("empty", None))
    assert ours[2].value is None and ours[0].key is None
    assert ours[0].partition == 3 and ours[0].topic == "logs.raw"


def test_several_batches_and_a_fetch_position_inside_the_first() -> None:
    # A broker answers from the batch that holds the fetch offset.
    data = v2_batch(10, MESSAGES[:3]) + v2_batch(13, MESSAGES[3:]) + v2_batch(15, MESSAGES[:2])
    assert [r.offset for r in compare(data)] == list(range(10, 17))
    assert [r.offset for r in compare(data, fetch_offset=12)] == list(range(12, 17))
    assert [r.offset for r in compare(data[-len(v2_batch(15, MESSAGES[:2])) :], 16)] == [16]


def test_a_batch_cut_off_at_the_fetch_end_is_left_for_the_next_fetch() -> None:
    whole = v2_batch(0, MESSAGES[:2])
    ours = compare(whole + v2_batch(2, MESSAGES)[:-7])
    assert [r.offset for r in ours] == [0, 1]


@pytest.mark.parametrize("codec", [1, 2, 3, 4], ids=["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_keep_aiokafka_decoding(codec: int) -> None:
    try:
        data = v2_batch(5, MESSAGES, compression=codec) + v2_batch(10, MESSAGES[:1])
    except Exception as exc:  # noqa: BLE001 - the codec's library is optional for aiokafka
        pytest.skip(f"codec {codec} not installed here: {exc}")
    assert [r.offset for r in compare(data, fetch_offset=7)] == [7, 8, 9, 10]


def test_log_append_time_gives_every_record_the_broker_time() -> None:
    ours = compare(v2_batch(0, MESSAGES, log_append_time=1_800_000_000_000))
    assert {r.timestamp for r in ours} == {1_800_000_000_000}


def test_control_batches_are_skipped_and_moved_past() -> None:
    data = v2_batch(0, MESSAGES[:2]) + v2_batch(2, MESSAGES[:1], control=True)
    assert [r.offset for r in compare(data)] == [0, 1]


def test_a_legacy_message_set_keeps_aiokafka_decoding() -> None:
    # (aiokafka fails on an empty or null value in a legacy set, so none here)
    legacy: list[Message] = [(1_600_000_000_000, None, b"old", []), (0, b"k", b"older", [])] * 2
    assert [r.offset for r in compare(legacy_set(40, legacy[:3]))] == [40, 41, 42]
    assert [r.offset for r in compare(legacy_set(40, legacy) + legacy_set(44, legacy))] == [
        *range(40, 48)
    ]


def test_a_bad_crc_is_refused_as_aiokafka_refuses_it() -> None:
    data = bytearray(v2_batch(0, MESSAGES))
    data[-1] ^= 0xFF
    with pytest.raises(CorruptRecordException):
        aiokafka_reads(bytes(data), 0, kafka_records._BatchRecords)


def test_a_record_running_past_its_batch_is_a_clear_error() -> None:
    data = bytearray(v2_batch(0, MESSAGES[:1]))
    struct.pack_into(">i", data, 57, 2)  # two records said, one there
    with pytest.raises(ValueError, match="corrupt record in the batch at offset 0"):
        records_of(bytes(data), 0, len(data), "t", 0, 0)
    with pytest.raises(ValueError, match="not a whole record batch"):
        records_of(bytes(data), 0, 60, "t", 0, 0)


_header = st.tuples(st.text(max_size=8), st.none() | st.binary(max_size=20))
_message = st.tuples(
    st.integers(0, 2**41),
    st.none() | st.binary(max_size=40),
    st.none() | st.binary(max_size=300),
    st.lists(_header, max_size=3),
)


@given(st.lists(st.lists(_message, min_size=1, max_size=8), min_size=1, max_size=4),
       st.integers(0, 7))  # fmt: skip
def test_any_batches_read_as_aiokafka_reads_them(batches: list[list[Message]], skip: int) -> None:
    data, offset = b"", 100
    for messages in batches:
        data += v2_batch(offset, messages)
        offset += len(messages)
    compare(data, fetch_offset=100 + min(skip, len(batches[0]) - 1))


def getall_in_turns(data: bytes, fetch_offset: int, turns: list[int | None], ours: bool) -> list:
    """What each getall of a consumer takes of one fetch, with the position after it."""
    assignment = OnePartitionAssignment(fetch_offset)
    kind, result = (
        (kafka_records._BatchRecords, kafka_records._BatchFetchResult)
        if ours
        else (fetcher.PartitionRecords, fetcher.FetchResult)
    )
    value = kafka_records.keep_value if ours else None
    records = kind(TP, kafka_records._KeptMemoryRecords(data), [], fetch_offset, None, value,
                   True, fetcher.READ_UNCOMMITTED)  # fmt: skip
    fetched = result(TP, assignment=assignment, partition_records=records, backoff=0)
    taken = []
    for most in turns:  # (the fetcher drops a result that has no more)
        got = fetched.getall(most) if fetched.has_more() else []
        taken.append(([fields(r) for r in got], assignment.position, fetched.has_more()))
    return taken


@given(
    st.lists(
        st.tuples(
            st.lists(_message, min_size=1, max_size=8),
            st.sampled_from(["v2", "gzip", "control"]),
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 7),
    st.lists(st.none() | st.integers(1, 12), min_size=1, max_size=6),
)  # fmt: skip
def test_getall_takes_batches_as_aiokafka_takes_records_one_at_a_time(
    batches: list[tuple[list[Message], str]], skip: int, turns: list[int | None]
) -> None:
    data, offset = b"", 100
    for messages, kind in batches:
        data += v2_batch(offset, messages, compression=1 if kind == "gzip" else 0,
                         control=kind == "control")  # fmt: skip
        offset += len(messages)
    fetch_offset = 100 + min(skip, len(batches[0][0]) - 1)
    assert getall_in_turns(data, fetch_offset, turns, ours=True) == getall_in_turns(
        data, fetch_offset, turns, ours=False
    )


def test_getone_and_getall_share_the_fetch_position() -> None:
    data = v2_batch(0, MESSAGES) + v2_batch(5, MESSAGES[:2])
    assignment = OnePartitionAssignment(0)
    records = kafka_records._BatchRecords(
        TP, kafka_records._KeptMemoryRecords(data), [], 0, None,
        kafka_records.keep_value, True, fetcher.READ_UNCOMMITTED,
    )  # fmt: skip
    fetched = kafka_records._BatchFetchResult(
        TP, assignment=assignment, partition_records=records, backoff=0
    )
    assert fetched.getone().offset == 0 and assignment.position == 1
    assert [r.offset for r in fetched.getall(3)] == [1, 2, 3] and assignment.position == 4
    assert fetched.getone().offset == 4 and assignment.position == 5
    assert [r.offset for r in fetched.getall()] == [5, 6] and assignment.position == 7
    assert not fetched.has_more()


def test_a_consumer_without_keep_value_keeps_aiokafka_records() -> None:
    kafka_records.install()
    made = fetcher.PartitionRecords(TP, MemoryRecords(v2_batch(0, MESSAGES[:1])), [], 0, None,
                                    None, True, fetcher.READ_UNCOMMITTED)  # fmt: skip
    assert type(made) is not kafka_records._BatchRecords
    assert type(next(made)).__name__ == "ConsumerRecord"


def test_kafka_record_is_made_and_shown_like_a_record() -> None:
    record = KafkaRecord("t", 1, 2, 3, None, b"v", ())
    assert fields(record) == ("t", 1, 2, 3, None, b"v", ())
    assert repr(record) == "KafkaRecord(topic='t', partition=1, offset=2)"
    with pytest.raises(AttributeError):
        record.value = b"other"  # type: ignore[misc]


def test_kept_memory_records_still_frame_batches_for_the_fetcher() -> None:
    # The fetcher asks has_next() before it makes partition records at all.
    data = v2_batch(0, MESSAGES[:2]) + v2_batch(2, MESSAGES[:1])
    kept = kafka_records._KeptMemoryRecords(data)
    assert kept.data is data and kept.has_next()
    assert [kept.next_batch().next_offset, kept.next_batch().next_offset] == [2, 3]
    assert not kept.has_next()


def test_a_fetch_taken_in_parts_goes_on_where_it_stopped_as_getall_takes_it():
    # FetchResult.getall iterates the partition records up to max_records, then again later.
    data = v2_batch(0, MESSAGES) + v2_batch(5, MESSAGES[:2])
    source = kafka_records._BatchRecords(
        TP, kafka_records._KeptMemoryRecords(data), [], 0, None,
        kafka_records.keep_value, True, fetcher.READ_UNCOMMITTED,
    )  # fmt: skip
    first = [r.offset for _, r in zip(range(3), source, strict=False)]
    assert (first, source.next_fetch_offset) == ([0, 1, 2], 3)
    assert [r.offset for r in source] == [3, 4, 5, 6]
    assert source.next_fetch_offset == 7
    assert list(source) == []  # exhausted: nothing more, and no error


def test_install_refuses_an_aiokafka_it_was_not_written_against(monkeypatch):
    monkeypatch.setattr(kafka_records.aiokafka, "__version__", "0.15.0")
    with pytest.raises(RuntimeError, match=r"aiokafka 0\.14\.0's fetcher internals"):
        kafka_records.install()
