"""Instructions per event of the worker's prepare step (split, detect, parse, enrich, template,
row), counted by valgrind's callgrind: the same count whatever else the host is doing, where
seconds here drift by a third within the hour and by 3x between days.

`python -m pipeline.bench.instructions [--events N] [--path columnar|per_record] [--compare]`
runs the step twice under callgrind, once over N events of the benchmark corpus and once with
everything but the step (start-up, imports, the corpus and its Kafka records), and prints the
difference per event. The step is the one `prepare_step` returns for the ingest path (default:
the worker's, LOGWEIR_INGEST_PATH), called as the worker calls it, on a list of aiokafka
ConsumerRecords a sink batch at a time, with automatic garbage collection off as in the
worker; `--compare` measures both paths and prints each and their ratio (columnar /
per-record). It measures the prepare step only: the Kafka client, the insert and ClickHouse
are outside it (`make bench` times those), and they do not change when parsing or templating
does. Run the same command at two commits to compare them.
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


def prepare(events: int, loop: bool, path: str) -> int:
    """The worker's prepare step for `path` over `events` single-event messages, a sink batch
    of Kafka records at a time; the rows made (none without `loop`)."""
    from pipeline.bench.corpus import build
    from pipeline.ingest.columnar import prepare_step
    from pipeline.ingest.ingestor import Ingestor
    from pipeline.settings import Settings

    settings = Settings(ingest_path=path)  # type: ignore[arg-type]
    step = prepare_step(settings, Ingestor(settings))
    records = build("single", events).records(settings.topic_raw, int(time.time() * 1000))
    # As the worker runs (pipeline/ops/memory.py): no collection triggered by allocations,
    # which here counted the corpus's objects over and over, 16% of the JSON parser's count.
    gc.freeze()
    gc.disable()
    rows = 0
    if loop:
        size = settings.sink_batch_messages
        for i in range(0, len(records), size):
            rows += len(step(records[i : i + size]).log_rows)
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
        f"prepare step under callgrind, {args.events:,} events, {' and '.join(paths)} "
        f"ingest path (about a minute each of {2 * len(paths)} runs)…"
    )
    found = {}
    for p in paths:
        found[p] = per_event(args.events, p)
        print(f"instructions per event, {p}: {found[p]:,.0f}")
    if args.compare:
        print(f"ratio columnar / per_record: {found['columnar'] / found['per_record']:.2f}")


if __name__ == "__main__":
    main()
