"""Instructions per event of the worker's CPU step (records from Kafka record batches, then
split, detect, parse, enrich, template, row, and the insert's Native encoding), counted by
valgrind's callgrind: the same count whatever else the host is doing, where seconds here
drift by a third within the hour and by 3x between days.

`python -m pipeline.bench.instructions [--events N] [--path columnar|per_record] [--compare]`
runs the step twice under callgrind, once over N events of the benchmark corpus and once with
everything but the step (start-up, imports, the corpus and its record batches), and prints the
difference per event. The corpus is held as the broker sends it, uncompressed v2 record
batches of up to 16 KiB (aiokafka's default batch size) in one fetch per sink batch. The step
reads them as the worker's consumer does for the ingest path (default: the worker's,
LOGWEIR_INGEST_PATH), taken by aiokafka's FetchResult.getall as getmany takes them:
KafkaRecords in C on the columnar path (kafka_records.py), aiokafka's ConsumerRecords on the
record-by-record one; then `prepare_step`'s step, a sink batch at a
time, with automatic garbage collection off as in the worker; then the batch's otel_logs
rows encoded for the insert as the sink encodes them (pipeline/sink/native.py; the columnar
step encodes its own a part at a time, the sink completes them). `--compare` measures both
paths and prints each and their ratio (columnar / per-record). The network, the event loop,
the HTTP insert and ClickHouse are outside it (`make bench` times those). Run the same
command at two commits to compare them.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import get_args

_COLLECTED = re.compile(rb"Collected : (\d+)")


def _paths() -> tuple[str, ...]:
    from pipeline.settings import Settings

    return get_args(Settings.model_fields["ingest_path"].annotation)


def fetches(messages: list[tuple[bytes | None, bytes]], size: int) -> list[bytes]:
    """The messages as a broker sends them: one fetch per `size` messages, each uncompressed
    v2 record batches of up to 16 KiB (aiokafka's default batch size), offsets from 0."""
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    def builder() -> DefaultRecordBatchBuilder:
        return DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 16384)

    now, made = int(time.time() * 1000), []
    for first in range(0, len(messages), size):
        batches, batch = bytearray(), builder()
        for offset, (key, value) in enumerate(messages[first : first + size], first):
            if batch.append(offset, now, key, value, []) is None:  # full: the next batch
                batches += batch.build()
                batch = builder()
                batch.append(offset, now, key, value, [])
        made.append(bytes(batches + batch.build()))
    return made


def prepare(events: int, loop: bool, path: str) -> int:
    """The worker's fetch decoding and prepare step for `path` over `events` single-event
    messages, a sink batch at a time; the rows made (none without `loop`)."""
    from aiokafka.consumer import fetcher
    from aiokafka.structs import TopicPartition

    from pipeline.bench.corpus import build
    from pipeline.ingest import kafka_records
    from pipeline.ingest.columnar import prepare_step, reads_kafka_records
    from pipeline.ingest.ingestor import Ingestor
    from pipeline.ingest.testing import OnePartitionAssignment
    from pipeline.settings import Settings
    from pipeline.sink.native import NativeLayout
    from pipeline.sink.tables import INCARNATION_COLUMN, LOG_COLUMNS
    from pipeline.sink.testing import COLUMN_TYPES

    settings = Settings(ingest_path=path)  # type: ignore[arg-type]
    # The sink's insert: otel_logs's columns and the incarnation, types as migrations make them;
    # the columnar step encodes its rows in that layout (but the incarnation) as it goes.
    names = (*LOG_COLUMNS, INCARNATION_COLUMN)
    layout = NativeLayout(names, [COLUMN_TYPES[name] for name in names])
    step = prepare_step(settings, Ingestor(settings), lambda: layout.leading)
    size = settings.sink_batch_messages
    data = fetches(build("single", events).messages, size)
    # The consumer's reading for the path, made as aiokafka's fetcher makes it (with
    # kafka_records installed, its names pick the reading by the value deserializer).
    kafka_records.install()
    value = kafka_records.keep_value if reads_kafka_records(step) else None
    tp = TopicPartition(settings.topic_raw, 0)
    # As the worker runs (pipeline/ops/memory.py): no collection triggered by allocations,
    # which here counted the corpus's objects over and over, 16% of the JSON parser's count.
    gc.freeze()
    gc.disable()
    rows = 0
    if loop:
        for n, fetched in enumerate(data):
            memory = fetcher.MemoryRecords(fetched)
            records = fetcher.PartitionRecords(
                tp, memory, [], n * size, None, value, True, fetcher.READ_UNCOMMITTED
            )
            # Taken as the consumer's getmany takes them.
            result = fetcher.FetchResult(
                tp,
                assignment=OnePartitionAssignment(n * size),
                partition_records=records,
                backoff=0,
            )
            made = step(result.getall(size)).log_rows
            if made.encoded is not None:  # as the sink's insert completes them
                body = layout.completed(made.encoded.blocks, 0)
            else:
                body = layout.block([*made.columns(), [0] * len(made)], len(made))
            if body is None:
                raise SystemExit("the C encoder refused the batch: see pipeline/sink/native.py")
            rows += len(made)
    return rows


def count(events: int, loop: bool, path: str) -> int:
    """Instructions callgrind counted for one run of `prepare` in a child process."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        argv = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={Path(scratch) / 'out'}",
            sys.executable,
            "-m",
            "pipeline.bench.instructions",
            "--child",
            str(events),
            "--path",
            path,
        ] + (["--with-loop"] if loop else [])
        done = subprocess.run(argv, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise SystemExit("callgrind run failed:\n" + "\n".join(tail))
    return int(found.group(1))


def per_event(events: int, path: str) -> float:
    """Instructions per event of the prepare step of `path` (two callgrind runs)."""
    return (count(events, True, path) - count(events, False, path)) / events


def main() -> None:
    from pipeline.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--path",
        choices=_paths(),
        help="the ingest path whose prepare step is measured (default: the worker's)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="measure both ingest paths; print each and the ratio columnar / per_record",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--with-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.path or Settings().ingest_path
    if args.child is not None:
        prepare(args.child, args.with_loop, path)
        return
    paths = _paths() if args.compare else (path,)
    print(
        f"worker CPU step (decode, prepare, encode) under callgrind, {args.events:,} events, "
        f"{' and '.join(paths)} ingest path (about a minute each of {2 * len(paths)} runs)…"
    )
    found = {}
    for p in paths:
        found[p] = per_event(args.events, p)
        print(f"instructions per event, {p}: {found[p]:,.0f}")
    if args.compare:
        print(f"ratio columnar / per_record: {found['columnar'] / found['per_record']:.2f}")


if __name__ == "__main__":
    main()
