"""Test helpers around the real local stack: isolated settings, a worker process, waiting."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from pipeline.bench.producer import Produced
from pipeline.settings import Settings


def isolated(base: Settings, **overrides: object) -> Settings:
    """Settings sharing the stack of `base` but with their own topics, database and group."""
    tag = uuid.uuid4().hex[:8]
    values = {
        "topic_raw": f"t{tag}.raw",
        "topic_deadletter": f"t{tag}.deadletter",
        "topic_alerts": f"t{tag}.alerts",
        "clickhouse_database": f"test_{tag}",
        "app_id": f"logweir-test-{tag}",
        **overrides,
    }
    # Validated (model_copy would not turn "secret" into a SecretStr, or dicts into models).
    return Settings(**{**dict(base), **values})


class WorkerProcess:
    """`logweir worker` as a child process, for tests that kill and restart it."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env()}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "worker"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final commit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no worker log)"


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
