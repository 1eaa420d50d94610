"""The bench's prepare-step harnesses run the step the worker runs, for each ingest path, over
Kafka records made from the corpus (the figures themselves need the stack or valgrind)."""

from __future__ import annotations

from typing import get_args

import pytest
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord

from pipeline import bench
from pipeline.bench import corpus, instructions, measure
from pipeline.settings import Settings

PATHS = get_args(Settings.model_fields["ingest_path"].annotation)


def test_corpus_records_are_the_messages_as_the_kafka_client_hands_them_over():
    data = corpus.build("batched", 120)
    records = data.records("logs.raw", 1_700_000_000_000)
    assert len(records) == len(data.messages)
    for offset, (record, (key, value)) in enumerate(zip(records, data.messages, strict=True)):
        assert type(record) is ConsumerRecord
        assert (record.topic, record.partition, record.offset) == ("logs.raw", 0, offset)
        assert (record.key, record.value, record.timestamp) == (key, value, 1_700_000_000_000)
        assert record.serialized_value_size == len(value)
        assert list(record.headers) == [("framing", b"lines")]


@pytest.mark.parametrize("path", PATHS)
def test_instructions_harness_runs_each_paths_step_only_with_the_loop(path):
    assert instructions.prepare(300, loop=True, path=path) == 300
    assert instructions.prepare(300, loop=False, path=path) == 0


def test_instructions_fetches_hold_the_corpus_as_a_broker_sends_it():
    data = corpus.build("single", 700)
    fetched = instructions.fetches(data.messages, 300)
    assert len(fetched) == 3  # one fetch per sink batch
    read = []
    for raw in fetched:
        records = MemoryRecords(raw)
        while records.has_next():
            read.extend((r.offset, r.key, r.value) for r in records.next_batch())
    assert read == [(offset, k, v) for offset, (k, v) in enumerate(data.messages)]
    assert MemoryRecords(fetched[0]).next_batch().compression_type == 0


@pytest.mark.parametrize("path", PATHS)
def test_insert_only_rows_come_from_the_step_a_sink_batch_at_a_time(path):
    data = corpus.build("single", 250)
    whole = measure.prepared_rows(Settings(ingest_path=path), data)
    chunked = measure.prepared_rows(Settings(ingest_path=path, sink_batch_messages=7), data)
    assert len(whole) == len(chunked) == 250


def test_the_bench_compares_every_ingest_path_with_the_other():
    assert set(bench._OTHER_PATH) == set(PATHS) == set(bench._OTHER_PATH.values())
    assert bench._ratio(1.0, 3.0) == 0.33
    assert bench._ratio(1.0, 0.0) is None  # CPU read as no tick at all: no ratio, no crash


def test_instructions_compare_prints_each_path_and_the_ratio(monkeypatch, capsys):
    counts = {("columnar", True): 4_000, ("per_record", True): 10_000}
    monkeypatch.setattr(
        instructions, "count", lambda events, loop, path: counts.get((path, loop), 1_000)
    )
    monkeypatch.setattr("sys.argv", ["instructions", "--events", "10", "--compare"])
    instructions.main()
    out = capsys.readouterr().out
    assert "instructions per event, columnar: 300" in out
    assert "instructions per event, per_record: 900" in out
    assert "ratio columnar / per_record: 0.33" in out


@pytest.mark.parametrize("path", PATHS)
def test_instructions_measures_the_path_asked_for(monkeypatch, capsys, path):
    seen = set()

    def count(events, loop, p):
        seen.add(p)
        return 2_000 if loop else 1_000

    monkeypatch.setattr(instructions, "count", count)
    monkeypatch.setattr("sys.argv", ["instructions", "--events", "10", "--path", path])
    instructions.main()
    assert seen == {path}
    assert f"instructions per event, {path}: 100" in capsys.readouterr().out
