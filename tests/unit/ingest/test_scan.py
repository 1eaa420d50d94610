"""The columnar step's first pass in C (pipeline/ingest/_scan.c): which messages it takes, the
group each line goes to, and what it does with a guard that raises. That the step's rows equal
the record path's is tests/unit/ingest/test_columnar_identity.py."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import parsing
from pipeline.ingest._scan import KafkaRecord, census, extremes, fill, group, scan, transpose
from pipeline.parsing.registry import Claim, Format, Prefix, Registry
from tests.support import golden
from tests.support.identity import TOPIC, Message, consumer_records
from tests.support.leaks import LEAK_BYTES, traced_growth

FORMATS = parsing.load()
NO_HEADERS: dict[str, bytes] = {}
# The formats' documented lines (tests/fixtures/parsing) and real-world ones (others' logs,
# labelled: pipeline/bench/realworld.py).
LINES = golden.every_line() + golden.real_world_lines()


def first_offered(registry: Registry, line: bytes) -> str | None:
    """The reference: the format detection offers `line` to first (None: the fallback)."""
    for guard, steps in registry._groups[line[0] if line else 0]:
        if guard is None or guard(line):
            parse = steps[0][0]
            return next(name for name, p in registry.parsers.items() if p is parse)
    return None


def name_of(registry: Registry, index: int) -> str | None:
    fmt = registry.group_forms[index]
    return None if fmt is None else fmt.name


def test_each_line_goes_to_the_group_of_the_format_detection_offers_it_to_first():
    assert len(LINES) > 1000
    seen = set()
    for line in LINES:
        expected = first_offered(FORMATS, line)
        found = group(line, FORMATS.group_table, FORMATS.fallback_group)
        if expected is None:
            assert found == FORMATS.fallback_group, line
            continue
        seen.add(expected)
        has_group_form = FORMATS.parsers[expected] in {
            f.parse for f in FORMATS.group_forms if f is not None
        }
        # A format without a group form: the detection group (None), where lines take `parse`.
        assert name_of(FORMATS, found) == (expected if has_group_form else None), line
    assert {"json", "access", "logfmt", "java", "python", "syslog"} <= seen


def out(groups: int) -> tuple[list, ...]:
    return ([], *([[] for _ in range(groups)] for _ in range(3)), *([] for _ in range(8)))


def config(registry: Registry, forced_topics: dict[str, str] | None = None) -> tuple:
    return (
        registry.group_table,
        registry.fallback_group,
        forced_topics or {},
        lambda topic: topic.rpartition(".")[2],
        NO_HEADERS,
    )


def test_it_takes_usual_messages_and_stops_at_the_first_other():
    usual = Message(b'  {"msg": "a"}\t\r\n', key=b"k")
    others = [
        Message(None),
        Message(b""),
        Message(b" \n\x0b "),  # nothing but bytes.strip()'s whitespace: a dead letter
        Message(b"one\ntwo"),
        Message(b"x", headers=(("format", b"json"),)),
        Message(b"x", topic="logs.raw.forced"),
    ]
    for other in others:
        records = consumer_records([usual, usual, other, usual])
        found = out(len(FORMATS.group_forms))
        assert scan(records, 0, config(FORMATS, {"logs.raw.forced": "json"}), found) == 2, other
        assert scan(records, 3, config(FORMATS), found) == 4
        slots, lines, line_slots, origins, kafka_ms, keys, headers, suffixes, topics, *rest = found
        assert slots == [None] * 3
        json_group = next(i for i, f in enumerate(FORMATS.group_forms) if f and f.name == "json")
        assert lines[json_group] == [b'{"msg": "a"}'] * 3
        assert line_slots[json_group] == [0, 1, 2]
        assert origins[json_group] == [0, 1, 3]
        assert keys == [b"k"] * 3 and headers == [NO_HEADERS] * 3
        assert suffixes == ["raw"] * 3 and topics == [TOPIC] * 3
        partitions, offsets, events = rest
        assert [(r.partition, r.offset, r.timestamp) for r in records[:2] + records[3:]] == list(
            zip(partitions, offsets, kafka_ms, strict=True)
        )
        assert events == [0, 0, 0]


def test_a_line_that_needs_no_stripping_is_not_copied():
    records = consumer_records([Message(b"plain text")])
    found = out(len(FORMATS.group_forms))
    scan(records, 0, config(FORMATS), found)
    assert next(line for group_lines in found[1] for line in group_lines) is records[0].value


def test_a_value_that_is_not_bytes_is_left_to_the_general_path():
    records = consumer_records([Message(b"a")])
    records[0].value = bytearray(b"a")  # type: ignore[assignment]
    assert scan(records, 0, config(FORMATS), out(len(FORMATS.group_forms))) == 0


def test_a_guard_that_raises_stops_the_scan_with_its_error():
    def guard(line: bytes) -> bool:
        raise ValueError("guard failed")

    registry = Registry()
    for fmt in FORMATS._formats.values():
        registry.add(fmt)
    registry.add(Format("raising", lambda line: None, (Claim(b"\x01", rank=0, guard=guard),)))
    records = consumer_records([Message(b"ok"), Message(b"\x01 bad")])
    with pytest.raises(ValueError, match="guard failed"):
        scan(records, 0, config(registry), out(len(registry.group_forms)))
    with pytest.raises(ValueError, match="guard failed"):
        group(b"\x01 bad", registry.group_table, registry.fallback_group)


def test_a_prefix_guard_is_compared_in_c_as_python_calls_it():
    prefix = Prefix(b"\x01ab")
    registry = Registry()
    for name, claim in (
        ("prefixed", Claim(b"\x01", rank=0, guard=prefix)),
        ("other", Claim(b"\x01", rank=1)),
    ):
        registry.add(Format(name, lambda line: None, (claim,), lambda lines: [None] * len(lines)))
    named = {name_of(registry, i): i for i in range(len(registry.group_forms))}
    for line in (b"\x01ab", b"\x01abc", b"\x01a", b"\x01ax", b"\x01"):
        expected = "prefixed" if prefix(line) else "other"
        assert group(line, registry.group_table, registry.fallback_group) == named[expected]


def test_a_malformed_table_or_out_is_refused():
    records = consumer_records([Message(b"x")])
    with pytest.raises(TypeError, match="256"):
        scan(records, 0, (((),) * 255, *config(FORMATS)[1:]), out(len(FORMATS.group_forms)))
    with pytest.raises(IndexError, match="group"):
        scan(records, 0, config(FORMATS), out(0))
    with pytest.raises(TypeError, match="tuple of lists"):
        scan(records, 0, config(FORMATS), (None,) * 12)
    # The entry of the line's first byte is checked as it is read.
    table = list(FORMATS.group_table)
    table[ord("x")] = ((None,),)
    with pytest.raises(TypeError, match="pairs"):
        scan(records, 0, (tuple(table), *config(FORMATS)[1:]), out(len(FORMATS.group_forms)))
    with pytest.raises(TypeError, match="pairs"):
        group(b"x", tuple(table), FORMATS.fallback_group)


def test_scanning_leaks_no_memory():
    records = consumer_records(Message(line) for line in LINES[:2000])
    records.append(consumer_records([Message(None)])[0])
    groups = len(FORMATS.group_forms)
    grown = traced_growth(lambda: scan(records, 0, config(FORMATS), out(groups)))
    assert grown < LEAK_BYTES, f"{grown} bytes more after 5 scans of 2,000 records"


def test_census_counts_messages_per_topic_and_the_bytes_of_their_values():
    def kafka(topic: str, value: bytes | None) -> KafkaRecord:
        return KafkaRecord(topic, 0, 0, 0, None, value, ())

    mixed: list[object] = [
        kafka("a", b"one"),
        kafka("a", None),
        kafka("b", b""),
        *consumer_records([Message(b"four", topic="a"), Message(None, topic="c")]),
        kafka("a", b"5"),
    ]
    assert census(mixed) == ({"a": 4, "b": 1, "c": 1}, 8)
    assert census([]) == ({}, 0)
    records = consumer_records(Message(line) for line in LINES[:500])
    topics, size = census(records)
    assert topics == Counter(r.topic for r in records)
    assert size == sum(len(r.value or b"") for r in records)
    with pytest.raises(TypeError, match="census"):
        census(tuple(records))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        census([object()])
    assert traced_growth(lambda: census(records + mixed)) < LEAK_BYTES  # type: ignore[operator]


@given(st.lists(st.integers() | st.integers(-(2**63), 2**63 - 1), min_size=1))
def test_extremes_are_min_and_max_of_any_ints(values: list[int]) -> None:
    assert extremes(values) == (min(values), max(values))


def test_extremes_compare_other_values_as_python_does_and_refuse_an_empty_list():
    assert extremes([3, 2.5, 2**64, -1]) == (-1, 2**64)
    assert extremes(["b", "a", "c"]) == ("a", "c")  # type: ignore[list-item]
    with pytest.raises(TypeError):
        extremes([1, "a"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="non-empty"):
        extremes([])
    values = [10**18 + i for i in range(1000)]
    assert traced_growth(lambda: extremes(values)) < LEAK_BYTES


def fields(n: int) -> tuple[object, ...]:
    """A group form's fields for a line (registry.Parsed: eleven values)."""
    return (n, "INFO", "info", "svc", "", "", "", "", f"body {n}", {}, [])


def test_fill_makes_the_rows_of_ascii_lines_with_fields_and_returns_the_others():
    lines = [b"a", "é".encode(), b"c", b"d", b"e", b"f"]
    parsed = [fields(0), fields(1), None, fields(3), (1, 2), fields(5)]
    slots: list[object] = [None] * 8
    line_slots = [7, 6, 5, 4, 3, 2]
    others = fill(slots, line_slots, lines, parsed, ("json", 0, None))
    assert others == [1, 2, 4]  # not ASCII, refused, not eleven fields
    assert slots[7] == fields(0) + ("json", 0, None)
    assert slots[4] == fields(3) + ("json", 0, None)
    assert slots[2] == fields(5) + ("json", 0, None)
    assert [slots[i] for i in (0, 1, 3, 5, 6)] == [None] * 5


@pytest.mark.parametrize("size", range(18))
def test_fill_sees_a_high_byte_anywhere_in_a_line(size):
    for at in range(size):
        line = bytearray(b"x" * size)
        line[at] = 0xC3
        assert fill([None], [0], [bytes(line)], [fields(0)], ()) == [0]
    slots: list[object] = [None]
    assert fill(slots, [0], [b"x" * size], [fields(0)], ()) == []
    assert slots == [fields(0)]


def test_fill_refuses_what_is_not_its_shape():
    with pytest.raises(ValueError, match="one slot and one parse per line"):
        fill([None], [0], [b"a", b"b"], [fields(0)], ())
    with pytest.raises(IndexError, match="slot 3 is not in slots"):
        fill([None], [3], [b"a"], [fields(0)], ())
    with pytest.raises(TypeError):
        fill((None,), [0], [b"a"], [fields(0)], ())  # type: ignore[arg-type]


def test_transpose_makes_columns_of_rows_and_refuses_a_row_of_another_width():
    rows = [(1, "a", None), (2, "b", [3])]
    assert transpose(rows, 3) == [[1, 2], ["a", "b"], [None, [3]]]
    assert transpose([], 2) == [[], []]
    with pytest.raises(ValueError, match="row 1 is not a tuple of 3 values"):
        transpose([(1, 2, 3), (1, 2)], 3)


def test_fill_and_transpose_leak_no_memory():
    def run() -> None:
        slots: list[object] = [None] * 100
        fill(slots, list(range(100)), [b"line"] * 100, [fields(i) for i in range(100)], ("t",))
        transpose(slots, 12)  # type: ignore[arg-type]

    assert traced_growth(run) < LEAK_BYTES
