"""Hostile input: 100k generated messages through parse → enrich → rows, and a slice of them
through the real broker and ClickHouse. Zero crashes; every input accounted for."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from pipeline.bench.producer import produce
from pipeline.bench.sample import SampleTraffic, bad_inputs
from pipeline.ingest.ingestor import Dropped, Ingestor
from pipeline.settings import Settings
from pipeline.sink import DEADLETTER_COLUMNS, LOG_COLUMNS, deadletter_row, log_row
from schemas.records import DeadLetter, LogRecord
from tests.support.stack import run, wait_accounted

INPUTS = 100_000
THROUGH_CLICKHOUSE = 5_000
NASTY = [
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\n",
    b"\r",
    b"\t",
    b"{",
    b"}",
    b'"',
    b"\\",
    b"<",
    b"[",
    b"=",
    b" - - [",
    b"\x1b[31m",
    "🔥".encode(),
    b"9" * 30,
    b'{"ts": 1e308}',
    b'{"level": {"x": 1}}',
    b"Traceback (most recent call last):\n",
]


def hostile(count: int, seed: int = 1234) -> list[tuple[bytes | None, bytes]]:
    """Mutated realistic lines, random bytes, odd JSON and edge cases, deterministic."""
    rng = random.Random(seed)
    sample = SampleTraffic(seed=seed)
    out: list[tuple[bytes | None, bytes]] = list(bad_inputs())
    while len(out) < count:
        kind = rng.random()
        if kind < 0.5:
            _, line = sample.one()
            data = bytearray(line)
            for _ in range(rng.randint(1, 6)):
                pos = rng.randint(0, len(data))
                choice = rng.random()
                if choice < 0.4:
                    data[pos:pos] = rng.choice(NASTY)
                elif choice < 0.7 and data:
                    del data[pos : pos + rng.randint(1, 20)]
                elif data:
                    data[min(pos, len(data) - 1)] = rng.randrange(256)
            value = bytes(data)
        elif kind < 0.75:
            value = rng.randbytes(rng.randint(0, 600))
        elif kind < 0.9:
            # The stdlib encoder: it writes integers beyond 64 bits, which orjson refuses to.
            value = json.dumps(_odd_json(rng, depth=0)).encode()
        else:
            value = b"\n".join(
                orjson.dumps(
                    {"msg": rng.choice(["a", "é", "\x00", ""]), "n": rng.randint(-(10**18), 10**18)}
                )
                for _ in range(rng.randint(2, 5))
            )
        key = rng.choice([None, b"svc", rng.randbytes(8)])
        out.append((key, value))
    return out[:count]


def _odd_json(rng: random.Random, depth: int) -> object:
    pick = rng.random()
    if depth > 6 or pick < 0.3:
        return rng.choice([None, True, 1.5e300, -0.0, 2**70, "", "\u0000", "x" * 300, []])
    if pick < 0.5:
        return [_odd_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["ts", "time", "level", "msg", "service", "host", "trace_id", "a.b", "", "x" * 50]
    return {rng.choice(keys) + str(i): _odd_json(rng, depth + 1) for i in range(rng.randint(0, 6))}


def test_100k_hostile_inputs_never_crash_and_always_end_somewhere():
    ingestor = Ingestor(Settings())
    outcomes = {"stored": 0, "dead": 0}
    for offset, (key, value) in enumerate(hostile(INPUTS)):
        message = ingestor.message(
            "logs.raw",
            offset % 4,
            offset,
            1_795_000_000_000,
            value,
            key,
            [("format", b"json")] if offset % 97 == 0 else [],
        )
        results = ingestor.process(message)
        assert results, f"input {offset} produced nothing: {value[:80]!r}"
        for index, result in enumerate(results):
            assert not isinstance(result, Dropped)
            if isinstance(result, LogRecord):
                row = log_row(result, message, index)
                assert len(row) == len(LOG_COLUMNS)
                assert 0 < result.timestamp_ns <= 9_200_000_000_000_000_000
                assert 0 <= int(result.severity) <= 24
                assert all(
                    isinstance(k, str) and isinstance(v, str) for k, v in result.attributes.items()
                )
                outcomes["stored"] += 1
            else:
                assert isinstance(result, DeadLetter) and result.reason and result.detail
                assert len(deadletter_row(result, index)) == len(DEADLETTER_COLUMNS)
                outcomes["dead"] += 1
    assert outcomes["stored"] + outcomes["dead"] >= INPUTS


@pytest.mark.integration
@pytest.mark.slow
def test_hostile_inputs_through_the_real_pipeline(pipeline_settings, clickhouse, worker):
    inputs = hostile(THROUGH_CLICKHOUSE, seed=99)
    produced = run(produce(pipeline_settings, inputs))
    final = wait_accounted(
        clickhouse, produced, 180, f"{produced.count} hostile messages accounted for", worker
    )
    assert (final.messages, final.duplicates) == (THROUGH_CLICKHOUSE, 0)
    assert worker.alive()
