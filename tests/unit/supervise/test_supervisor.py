"""The supervisor's process handling with stand-in children (no stack): a child that keeps
dying at start makes it give up with a clear line; SIGTERM stops every child."""

import asyncio
import os
import signal
import sys

import pytest

from pipeline.settings import Settings
from pipeline.supervise import supervisor
from pipeline.supervise.supervisor import Supervisor


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(supervisor, "BACKOFF_SECONDS", 0.01)


def _settings() -> Settings:
    return Settings(metrics_port=0)


def test_children_that_keep_dying_at_start_end_it_with_exit_1(capsys):
    argv = [sys.executable, "-c", "import sys; sys.exit('error: bad hook')"]
    code = asyncio.run(Supervisor(_settings(), 2, argv).run())
    assert code == 1
    err = capsys.readouterr().err
    assert "times in a row within 30 s of starting (last: exit code 1)" in err


def test_sigterm_is_forwarded_to_every_child_and_waited_for(tmp_path):
    child = (
        "import os, pathlib, signal, sys, time\n"
        "here = pathlib.Path(sys.argv[1])\n"
        "def stop(*_):\n"
        "    time.sleep(0.5)  # a clean stop takes a while: the supervisor waits\n"
        "    (here / f'stopped-{os.getpid()}').touch(); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "(here / f'ready-{os.getpid()}').touch()\n"
        "while True: time.sleep(0.05)\n"
    )

    async def scenario() -> tuple[int, list[int]]:
        sup = Supervisor(_settings(), 2, [sys.executable, "-c", child, str(tmp_path)])
        task = asyncio.create_task(sup.run())
        while len(list(tmp_path.glob("ready-*"))) < 2:
            await asyncio.sleep(0.05)
        pids = [s.proc.pid for s in sup.slots if s.proc]
        os.kill(os.getpid(), signal.SIGTERM)
        return await asyncio.wait_for(task, 60), pids

    code, pids = asyncio.run(scenario())
    assert code == 0
    assert {p.name for p in tmp_path.glob("stopped-*")} == {f"stopped-{pid}" for pid in pids}


def test_a_child_that_dies_is_started_again_and_counted():
    async def scenario() -> tuple[int, float]:
        sup = Supervisor(_settings(), 1, [sys.executable, "-c", "import time; time.sleep(60)"])
        task = asyncio.create_task(sup.run())
        while not sup.slots[0].running():
            await asyncio.sleep(0.05)
        first = sup.slots[0].proc
        assert first is not None
        first.kill()
        while sup.slots[0].proc is first or not sup.slots[0].running():
            await asyncio.sleep(0.05)
        restarts = sup.restarts.labels("1")._value.get()
        sup.stop()
        return await asyncio.wait_for(task, 60), restarts

    code, restarts = asyncio.run(scenario())
    assert (code, restarts) == (0, 1)
