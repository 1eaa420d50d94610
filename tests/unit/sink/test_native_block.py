"""The sink's C insert encoder (pipeline/sink/_native.c) writes the bytes clickhouse-connect's
Python Native encoder writes for the same columns, and clickhouse-connect reads them back as
the values written; a value it does not take leaves the insert to clickhouse-connect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.insert import InsertContext
from clickhouse_connect.driver.transform import NativeTransform
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.bench.corpus import build
from pipeline.ingest.columnar import prepare_step
from pipeline.ingest.ingestor import Ingestor
from pipeline.ingest.message import Message
from pipeline.settings import Settings
from pipeline.sink import ClickHouseSink, log_row
from pipeline.sink.native import NativeLayout
from pipeline.sink.tables import DEADLETTER_COLUMNS, LOG_COLUMNS, TableRows
from pipeline.sink.testing import COLUMN_TYPES, FakeClickHouse, FakePartitions
from schemas.records import LogRecord, Severity
from tests.support.identity import Message as Sent
from tests.support.identity import consumer_records
from tests.support.leaks import LEAK_BYTES, traced_growth


def reference(table: str, names: Sequence[str], columns: Sequence[Sequence[object]]) -> bytes:
    """clickhouse-connect's Python encoder's block for the same insert (after its statement)."""
    types = [get_from_name(COLUMN_TYPES[name]) for name in names]
    context = InsertContext(table, names, types, columns, column_oriented=True)
    context.block_row_count = len(columns[0]) + 1
    return b"".join(NativeTransform.build_insert(context)).split(b"\n", 1)[1]


def encoded(names: Sequence[str], columns: Sequence[Sequence[object]]) -> bytes | None:
    layout = NativeLayout(names, [COLUMN_TYPES[name] for name in names])
    return layout.block(columns, len(columns[0]))


def read_back(names: Sequence[str], columns: Sequence[Sequence[object]]) -> list[list[object]]:
    """The columns as clickhouse-connect reads the C encoder's block (the sink's test double)."""
    client = FakeClickHouse()
    block = encoded(names, columns)
    assert block is not None
    client.raw_insert("t", names, block, {}, "Native")
    return [client.inserts[0].columns[name] for name in names]


def batch_columns(size: int) -> list[list[object]]:
    """A batch of otel_logs columns, as the columnar step makes them."""
    settings = Settings()
    step = prepare_step(settings, Ingestor(settings))
    records = build("single", size).records(settings.topic_raw, int(time.time() * 1000))
    return [list(c) for c in step(records).log_rows.columns()]


def test_a_batch_of_otel_logs_columns_is_the_bytes_clickhouse_connect_writes():
    columns = batch_columns(3000)
    assert encoded(LOG_COLUMNS, columns) == reference("otel_logs", LOG_COLUMNS, columns)
    assert read_back(LOG_COLUMNS, columns) == columns


INSERTED = (*LOG_COLUMNS, "KafkaIncarnation")


def _step_batch(
    size: int, types: dict[str, str], known: bool = True
) -> tuple[NativeLayout, TableRows]:
    """`size` corpus events through the columnar step in parts of ~8 KiB, encoding its rows in
    the otel_logs insert's layout with these column types (unless `known` is False: the sink
    has not asked the server yet)."""
    layout = NativeLayout(INSERTED, [types[name] for name in INSERTED])
    settings = Settings()
    step = prepare_step(
        settings, Ingestor(settings), lambda: layout.leading if known else None, part_bytes=8192
    )
    records = build("single", size).records(settings.topic_raw, int(time.time() * 1000))
    return layout, step(records).log_rows


def test_the_columnar_step_encodes_its_parts_as_blocks_the_insert_completes():
    layout, rows = _step_batch(3000, COLUMN_TYPES)
    assert rows.encoded is not None and rows.encoded.layout == layout.leading
    assert len(rows.encoded.blocks) > 10  # ~160 B an event: a part is ~50 of them
    assert sum(count for _, count in rows.encoded.blocks) == len(rows) == 3000
    client = FakeClickHouse()
    body = layout.completed(rows.encoded.blocks, 4)
    assert body is not None
    client.raw_insert("otel_logs", INSERTED, body, {}, "Native")
    [insert] = client.inserts
    assert [insert.columns[name] for name in LOG_COLUMNS] == [list(c) for c in rows.columns()]
    assert insert.columns["KafkaIncarnation"] == [4] * 3000


def test_a_part_holds_about_part_bytes_of_messages_and_no_fewer_than_32():
    layout = NativeLayout(INSERTED, [COLUMN_TYPES[name] for name in INSERTED])
    settings = Settings()
    step = prepare_step(settings, Ingestor(settings), lambda: layout.leading, part_bytes=65536)
    now = int(time.time() * 1000)
    small = [b"level=info msg=%d" % i + b"x" * 80 for i in range(2000)]  # ~100 B: ~650 a part
    large = [b"level=info msg=%d " % i + b"x" * 10_000 for i in range(100)]  # 6 would do
    found = {}
    for name, values in (("small", small), ("large", large)):
        records = consumer_records(Sent(value, timestamp_ms=now) for value in values)
        encoded = step(records).log_rows.encoded
        assert encoded is not None
        found[name] = [count for _, count in encoded.blocks]
    first, *middle, _ = found["small"]
    assert 600 < first < 700 and middle == [first] * len(middle) and sum(found["small"]) == 2000
    assert found["large"] == [32, 32, 32, 4]


def test_a_part_the_encoder_does_not_take_leaves_the_whole_batch_to_the_sink_s_encoding():
    # Offsets past 255 do not fit a UInt8: the parts after the first fail to encode.
    layout, rows = _step_batch(600, {**COLUMN_TYPES, "KafkaOffset": "UInt8"})
    assert rows.encoded is None and len(rows) == 600
    assert list(rows.column(LOG_COLUMNS.index("KafkaOffset"))) == list(range(600))
    # Nor when the sink has no layout yet (before its first insert).
    assert _step_batch(600, COLUMN_TYPES, known=False)[1].encoded is None


def test_an_incarnation_the_encoder_does_not_take_leaves_the_blocks_unused():
    layout, rows = _step_batch(100, COLUMN_TYPES)
    assert rows.encoded is not None
    assert layout.completed(rows.encoded.blocks, -1) is None  # a UInt32 column


def test_rows_of_the_record_path_are_tuples_and_encode_the_same():
    record = LogRecord(body="é ☃", format="text", timestamp_ns=7, severity=Severity.WARN)
    record.attributes.update({"a": "1", "ü": ""})
    record.flags.append("invalid_utf8")
    rows = [log_row(record, Message("t", 0, o, 1000 + o, b"x"), o % 3) for o in range(5)]
    columns = TableRows(rows).columns()
    assert encoded(LOG_COLUMNS, columns) == reference("otel_logs", LOG_COLUMNS, columns)


def test_dead_letters_keep_raw_bytes_that_are_not_utf8():
    columns = [
        [1_700_000_000_000, 0],
        ["invalid_framing", "parse_error"],
        ["detail", ""],
        [b"\xff\xfe raw", b""],
        [6, 0],
        ["logs.raw", "logs.raw"],
        [3, 0],
        [2**64 - 1, 0],
        [0, 2**32 - 1],
    ]
    names = DEADLETTER_COLUMNS
    assert encoded(names, columns) == reference("logs_deadletter", names, columns)
    assert read_back(names, columns) == columns


def test_dictionaries_wider_than_one_byte_index_as_clickhouse_connect_does():
    for distinct in (255, 256, 257, 70_000):
        values = [f"v{i % distinct}" for i in range(distinct + 10)]
        names = ("KafkaTopic",)
        assert encoded(names, [values]) == reference("t", names, [values]), distinct
        assert read_back(names, [values]) == [values]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            _TEXT,
            st.sampled_from(["", "a", "b", "ü", "☃"]),
            st.dictionaries(_TEXT, _TEXT, max_size=5),
            st.lists(st.sampled_from(["x", "y", "invalid_utf8"]), max_size=3),
            st.integers(0, 255),
            st.integers(-(2**63), 2**63 - 1),
            st.integers(0, 2**64 - 1),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_any_columns_of_the_known_types_encode_as_clickhouse_connect_does(rows):
    names = (
        "Body",
        "ServiceName",
        "LogAttributes",
        "IngestFlags",
        "TraceFlags",
        "Timestamp",
        "KafkaOffset",
    )
    columns = [list(c) for c in zip(*rows, strict=True)]
    assert encoded(names, columns) == reference("t", names, columns)
    assert read_back(names, columns) == columns


_EDGES = [0, 1, 2**30 - 1, 2**30, 2**60 - 1, 2**60, 2**62, 2**63 - 1]


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("Timestamp", _EDGES + [-1, -(2**30), -(2**60), -(2**63)]),
        ("KafkaOffset", _EDGES + [2**63, 2**64 - 1]),
        ("KafkaPartition", [0, 2**30 - 1, 2**30, 2**32 - 1]),
        ("TraceFlags", [0, 255, True, False]),  # bool: an int subclass, read the general way
    ],
)
def test_integers_at_every_digit_boundary_encode_as_clickhouse_connect_does(name, values):
    # The encoder reads ints of up to three 30-bit digits itself, others through the C API.
    assert encoded((name,), [values]) == reference("t", (name,), [values])
    assert read_back((name,), [values]) == [values]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Body", None),
        ("Body", 5),
        ("Body", "\udcff"),  # a lone surrogate has no UTF-8
        ("ServiceName", b"\xff"),  # bytes are taken as they are, as clickhouse-connect does
        ("TraceFlags", 256),
        ("TraceFlags", -1),
        ("TraceFlags", 1.5),
        ("KafkaOffset", 2**64),
        ("KafkaOffset", -1),
        ("Timestamp", 2**63),
        ("Timestamp", -(2**63) - 1),
        ("LogAttributes", [("a", "b")]),
        ("LogAttributes", {"a": 1}),
        ("IngestFlags", "flag"),
        ("IngestFlags", [None]),
    ],
)
def test_a_value_the_c_encoder_does_not_take_leaves_the_insert_to_clickhouse_connect(name, value):
    good = {"Body": "b", "ServiceName": "s", "TraceFlags": 1, "KafkaOffset": 2, "Timestamp": 3}
    good |= {"LogAttributes": {"k": "v"}, "IngestFlags": ["f"]}
    names = tuple(good)
    columns = [[good[n], value if n == name else good[n]] for n in names]
    expected_none = not (name == "ServiceName" and isinstance(value, bytes))
    assert (encoded(names, columns) is None) is expected_none


def test_the_writer_falls_back_to_clickhouse_connect_and_stores_the_row():
    record = LogRecord(body="x", format="text", timestamp_ns=1, severity=Severity.INFO)
    row = list(log_row(record, Message("t", 0, 0, 1000, b"x")))
    row[LOG_COLUMNS.index("Body")] = "\udcff"  # no UTF-8: the C encoder refuses it
    client = FakeClickHouse()
    sink = ClickHouseSink(lambda: client, Settings())  # type: ignore[arg-type, return-value]
    sink.forget_progress([("t", 0)])
    result = asyncio.run(sink.write(TableRows([tuple(row)]), [], FakePartitions({0: 1000})))
    assert result.stored == 1
    [insert] = client.inserts
    assert insert.columns["Body"] == ["\udcff"] and not insert.native


def test_types_without_a_c_encoding_keep_clickhouse_connects_encoder():
    with pytest.raises(ValueError, match="Nullable"):
        NativeLayout(["a"], ["Nullable(String)"])


def test_encoding_leaks_no_memory():
    columns = batch_columns(2000)
    layout = NativeLayout(LOG_COLUMNS, [COLUMN_TYPES[n] for n in LOG_COLUMNS])
    bad = [list(c) for c in columns]
    bad[LOG_COLUMNS.index("LogAttributes")][-1] = {"k": 1}  # refused at the last row
    grown = traced_growth(lambda: (layout.block(columns, 2000), layout.block(bad, 2000)))
    assert grown < LEAK_BYTES, f"{grown} bytes more after 5 encodings of 2,000 rows"
