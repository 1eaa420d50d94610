"""Instructions per event of the worker's prepare step (split, detect, parse, enrich, template,
row), counted by valgrind's callgrind: the same count whatever else the host is doing, where
seconds here drift by a third within the hour and by 3x between days.

`python -m pipeline.bench.instructions [--events N]` runs the step twice under callgrind, once
over N events of the benchmark corpus and once with everything but the loop (start-up, imports,
the corpus), and prints the difference per event. It measures the prepare step only: the Kafka
client, the insert and ClickHouse are outside it (`make bench` times those), and they do not
change when parsing or templating does. Run the same command at two commits to compare them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_COLLECTED = re.compile(rb"Collected : (\d+)")


def prepare(events: int, loop: bool) -> int:
    """The worker's prepare step over `events` single-event messages; the rows made."""
    from pipeline.bench.corpus import build
    from pipeline.ingest.batch import Batch
    from pipeline.ingest.ingestor import Ingestor
    from pipeline.settings import Settings

    settings = Settings()
    corpus = build("single", events)
    ingestor = Ingestor(settings)
    batch = Batch()
    if loop:
        now = int(time.time() * 1000)
        for offset, (key, value) in enumerate(corpus.messages):
            message = ingestor.message(
                settings.topic_raw, 0, offset, now, value, key, corpus.headers
            )
            batch.add(ingestor, message)
    return len(batch.log_rows)


def count(events: int, loop: bool) -> int:
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
        ] + (["--with-loop"] if loop else [])
        done = subprocess.run(argv, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise SystemExit("callgrind run failed:\n" + "\n".join(tail))
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--with-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        prepare(args.child, args.with_loop)
        return
    print(f"prepare step under callgrind, {args.events:,} events (about a minute each run)…")
    full, base = count(args.events, loop=True), count(args.events, loop=False)
    print(f"instructions per event: {(full - base) / args.events:,.0f}")


if __name__ == "__main__":
    main()
