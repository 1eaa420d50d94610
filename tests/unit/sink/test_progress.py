"""Stored progress: a mark is trusted only for the incarnation whose record it witnessed."""

from __future__ import annotations

import asyncio

from pipeline.sink.progress import Progress, Span, spans, token
from pipeline.sink.tables import (
    COORDINATES,
    DEADLETTER_TABLE,
    LOGS_TABLE,
    TABLE_COLUMNS,
    TableRows,
)

TP = ("logs.raw", 0)


class FakeKafka:
    """A partition as the broker has it now: offsets → Kafka timestamps."""

    def __init__(self, records: dict[int, int]) -> None:
        self.records = records
        self.asked: list[int] = []

    def highwater(self, topic: str, partition: int) -> int | None:
        return max(self.records, default=-1) + 1

    async def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        self.asked.append(offset)
        return self.records.get(offset)


def _rows(table: str, coordinates: list[tuple[int, int]]) -> TableRows:
    """Rows of TP holding only (offset, Kafka timestamp), where the table keeps them."""
    c, width = COORDINATES[table], len(TABLE_COLUMNS[table])
    rows = []
    for offset, timestamp in coordinates:
        row: list[object] = [None] * width
        row[c.topic], row[c.partition], row[c.offset], row[c.timestamp] = (*TP, offset, timestamp)
        rows.append(tuple(row))
    return TableRows(rows)


def _batch(offsets: range, timestamp=lambda o: 1000 + o) -> dict[str, dict[tuple[str, int], Span]]:
    return {LOGS_TABLE: spans(LOGS_TABLE, _rows(LOGS_TABLE, [(o, timestamp(o)) for o in offsets]))}


def _stored(progress: Progress, offset: int, witness: int, incarnation: int = 0) -> None:
    """As read back from ingest_progress: otel_logs stored up to `offset`."""
    progress.forget([TP])
    progress.loaded({TP}, [(LOGS_TABLE, *TP, incarnation, offset, witness)])


def test_spans_are_ranges_counts_and_end_timestamps_per_partition():
    rows = _rows(DEADLETTER_TABLE, [(7, 17), (5, 15), (6, 16)])
    assert spans(DEADLETTER_TABLE, rows) == {TP: Span(5, 7, 3, 15, 17)}


def test_token_is_the_same_for_the_same_rows_and_differs_by_incarnation_or_records():
    a = spans(LOGS_TABLE, _rows(LOGS_TABLE, [(0, 100), (1, 101)]))
    b = spans(LOGS_TABLE, _rows(LOGS_TABLE, [(1, 101), (0, 100)]))
    assert token(LOGS_TABLE, a, {}) == token(LOGS_TABLE, b, {TP: 0})
    assert token(LOGS_TABLE, a, {TP: 1}) != token(LOGS_TABLE, a, {TP: 0})
    # The same offsets holding other records (a broker that restarted): another token.
    other = spans(LOGS_TABLE, _rows(LOGS_TABLE, [(0, 900), (1, 901)]))
    assert token(LOGS_TABLE, other, {}) != token(LOGS_TABLE, a, {})
    assert token(DEADLETTER_TABLE, a, {}) != token(LOGS_TABLE, a, {})


def test_resuming_after_the_mark_checks_its_witness_once_and_keeps_the_incarnation():
    progress, kafka = Progress(), FakeKafka({o: 1000 + o for o in range(200)})
    _stored(progress, 99, 1099)
    plan = asyncio.run(progress.plan(_batch(range(100, 150)), kafka))
    assert (plan.incarnations, plan.reread, kafka.asked) == ({TP: 0}, set(), [99])
    asyncio.run(progress.plan(_batch(range(150, 200)), kafka))
    assert kafka.asked == [99]  # checked once per assignment, not per batch
    assert progress.mark(LOGS_TABLE, TP) == 99


def test_a_replay_of_the_same_records_keeps_the_mark_so_stored_rows_are_skipped():
    progress, kafka = Progress(), FakeKafka({o: 1000 + o for o in range(200)})
    _stored(progress, 99, 1099)
    plan = asyncio.run(progress.plan(_batch(range(0, 99 + 1)), kafka))
    assert (plan.incarnations, plan.reread) == ({TP: 0}, set())
    assert kafka.asked == []  # the batch held the witnessed record itself
    assert progress.mark(LOGS_TABLE, TP) == 99


def test_a_broker_with_fewer_records_than_were_stored_is_a_new_incarnation():
    progress, kafka = Progress(), FakeKafka({o: 5000 + o for o in range(10)})
    _stored(progress, 99, 1099)
    plan = asyncio.run(progress.plan(_batch(range(0, 10), lambda o: 5000 + o), kafka))
    assert (plan.incarnations, plan.reread) == ({TP: 1}, set())
    assert progress.mark(LOGS_TABLE, TP) == -1  # nothing of incarnation 1 is skipped


def test_other_records_at_the_marked_offset_are_a_new_incarnation():
    progress, kafka = Progress(), FakeKafka({o: 5000 + o for o in range(500)})
    _stored(progress, 99, 1099)
    plan = asyncio.run(progress.plan(_batch(range(0, 300), lambda o: 5000 + o), kafka))
    assert (plan.incarnations, plan.reread) == ({TP: 1}, set())


def test_a_new_incarnation_found_past_its_start_is_read_again_from_the_beginning():
    # A position carried over from the old incarnation: the batch starts at the old mark + 1.
    progress, kafka = Progress(), FakeKafka({o: 5000 + o for o in range(500)})
    _stored(progress, 99, 1099)
    plan = asyncio.run(progress.plan(_batch(range(100, 300), lambda o: 5000 + o), kafka))
    assert (plan.incarnations, plan.reread) == ({TP: 1}, {TP})
    # Read again from 0: incarnation 1 already, not a third one.
    plan = asyncio.run(progress.plan(_batch(range(0, 300), lambda o: 5000 + o), kafka))
    assert (plan.incarnations, plan.reread) == ({TP: 1}, set())


def test_a_mark_without_witness_is_trusted_while_the_broker_has_its_offset():
    progress = Progress()
    _stored(progress, 99, 0)
    plan = asyncio.run(progress.plan(_batch(range(0, 50)), FakeKafka({o: o for o in range(200)})))
    assert plan.incarnations == {TP: 0}
    _stored(progress, 99, 0)
    plan = asyncio.run(progress.plan(_batch(range(0, 50)), FakeKafka({o: o for o in range(50)})))
    assert plan.incarnations == {TP: 1}


def test_loading_takes_the_newest_incarnation_and_only_its_marks():
    progress = Progress()
    progress.forget([TP])
    progress.loaded(
        {TP},
        [
            (LOGS_TABLE, *TP, 0, 5000, 1),
            (DEADLETTER_TABLE, *TP, 0, 4000, 1),
            (LOGS_TABLE, *TP, 1, 30, 2),
        ],
    )
    assert progress.incarnation(TP) == 1
    assert (progress.mark(LOGS_TABLE, TP), progress.mark(DEADLETTER_TABLE, TP)) == (30, -1)


def test_rows_stored_after_an_assignment_change_are_not_remembered_as_fresh_progress():
    progress = Progress()
    _stored(progress, 99, 1099, incarnation=2)
    progress.forget([TP])  # a rebalance while a write was under way
    progress.remember(LOGS_TABLE, _batch(range(100, 120))[LOGS_TABLE])
    assert progress.to_load([TP]) == {TP}  # read again, incarnation and all
