"""Parsing throughput per format (lines/s on one core), measured on the golden test lines."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from pipeline.parsing import PARSERS, parse

# The golden lines of the unit tests: realistic, and one place to add a sample.
SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "parsing"
_BATCH = 2000


def samples(fmt: str) -> list[bytes]:
    path = SAMPLES / f"{fmt}.toml"
    if not path.exists():
        raise FileNotFoundError(
            f"no sample lines at {path}: measure parsing rates from a source checkout"
        )
    with path.open("rb") as f:
        return [case["line"].encode() for case in tomllib.load(f)["case"]]


def measure(seconds_per_format: float = 1.0) -> dict[str, float]:
    """Lines per second through detection + parsing (what the pipeline runs), per format."""
    rates: dict[str, float] = {}
    for fmt in PARSERS:
        lines = samples(fmt)
        batch = (lines * (_BATCH // len(lines) + 1))[:_BATCH]
        for line in lines:  # warm caches and lazily compiled user-agent regexes first
            parse(line)
        done = 0
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < seconds_per_format:
            for line in batch:
                parse(line)
            done += len(batch)
            elapsed = time.perf_counter() - start
        rates[fmt] = done / elapsed
    return rates
