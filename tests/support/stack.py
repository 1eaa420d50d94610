"""Test helpers around the real local stack: isolated settings, a worker process, waiting."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.bench.accounting import Accounted, account
from pipeline.bench.producer import Produced
from pipeline.settings import Settings
from pipeline.stack.child import Child, worker


def isolated(base: Settings, **overrides: object) -> Settings:
    """Settings sharing the stack of `base` but with their own topics, database and group."""
    return base.scratch("test-", **overrides)


class WorkerProcess(Child):
    """`logweir worker` as a child process, for tests that kill and restart it."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        child = worker(settings, log_path)
        super().__init__(child.argv, log_path, child.env)
        self.settings = settings


def logweir(
    settings: Settings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`logweir ARGS…` as a user runs it, in a child process with `settings` as its
    environment and a wide terminal (rich tables are not cut)."""
    env = {**os.environ, **settings.to_env(), "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, worker: WorkerProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and not worker.alive():
            raise AssertionError(f"worker died while waiting for {what}:\n{worker.log_tail()}")
        time.sleep(0.25)
    tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")


def wait_accounted(  # type: ignore[no-untyped-def]
    clickhouse, produced: Produced, timeout: float, what: str, worker: WorkerProcess | None = None
) -> Accounted:
    """Wait until every message `produced` is stored or dead-lettered; what became of them."""
    wait_for(
        lambda: account(clickhouse, produced).messages >= produced.count, timeout, what, worker
    )
    return account(clickhouse, produced)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def merged(topic: str, batches: list[Produced]) -> Produced:
    """One Produced for many produce() calls to a topic only this test writes to: every offset
    from 0 to the last one of each partition is one of ours."""
    result = Produced(topic, count=sum(p.count for p in batches))
    for p in batches:
        for partition, (_, hi) in p.ranges.items():
            result.ranges[partition] = (0, max(hi, result.ranges.get(partition, (0, hi))[1]))
    return result
