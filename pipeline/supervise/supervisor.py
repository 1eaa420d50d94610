"""N worker processes under one parent: started, relayed, restarted, stopped, observed.

Each child is `python -m agents` with the same settings (so the same consumer groups and Faust
app id) except its /metrics and /health, which it serves on 127.0.0.1 at a free port chosen
here and passed as LOGWEIR_METRICS_HOST/PORT. Its output is relayed line by line, prefixed
`[worker N]`. SIGTERM/SIGINT are forwarded to every child and waited for (a clean stop
commits what was written). A child that dies unexpectedly is started again after a backoff;
one that keeps dying soon after its start (bad settings, a hook that cannot be imported) makes
the supervisor stop the others and exit 1 instead of looping.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter

from pipeline.observe import endpoint
from pipeline.settings import Settings
from pipeline.stack.process import free_port
from pipeline.supervise.merge import exposition, verdict

log = logging.getLogger("logweir.supervisor")

CHILD_HOST = "127.0.0.1"
# A child that ran at least this long came up: its death is a crash to restart, not a start
# failure. This many start failures in a row of one child and the supervisor gives up.
SETTLE_SECONDS = 30.0
START_FAILURES_TOLERATED = 4
BACKOFF_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# How long children get to stop cleanly before they are killed.
STOP_GRACE_SECONDS = 60.0
# A child's /metrics or /health answers within this long or counts as not answering.
SCRAPE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


@dataclass
class Slot:
    """One of the N children, across its restarts."""

    number: int
    proc: asyncio.subprocess.Process | None = None
    port: int = 0
    started_at: float = 0.0
    restarts: int = 0
    start_failures: int = 0
    last_exit: str = ""
    relay: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.number)

    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the supervisor dies, even by SIGKILL,
    so no orphaned worker keeps consuming."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        processes: int,
        argv: Sequence[str],
        *,
        settle_seconds: float = SETTLE_SECONDS,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.settings = settings
        self.argv = list(argv)
        self.slots = [Slot(n) for n in range(1, processes + 1)]
        self.settle_seconds = settle_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self.failure: str | None = None
        self._stopping = asyncio.Event()
        self._signal = signal.SIGTERM
        self.registry = CollectorRegistry(auto_describe=True)
        self.restarts = Counter(
            "logweir_worker_restarts",
            "Worker processes started again by the supervisor after they died",
            ["process"],
            registry=self.registry,
        )
        self._session: aiohttp.ClientSession | None = None

    # --- running -------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)
        for slot in self.slots:
            self.restarts.labels(slot.name)
        self._session = aiohttp.ClientSession()
        runner = await self._serve()
        log.info("starting %d worker processes (group %s)", len(self.slots), self.settings.app_id)
        keepers = [asyncio.create_task(self._keep(slot)) for slot in self.slots]
        try:
            await self._stopping.wait()
            await self._stop_children()
            await asyncio.gather(*keepers, return_exceptions=True)
        finally:
            if runner is not None:
                await runner.cleanup()
            await self._session.close()
        if self.failure:
            print(f"error: {self.failure}", file=sys.stderr, flush=True)
            return 1
        log.info("all worker processes stopped")
        return 0

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if not self._stopping.is_set():
            log.info("%s: stopping %d worker processes", sig.name, len(self.slots))
            self._signal = sig
            self._stopping.set()

    async def _keep(self, slot: Slot) -> None:
        """Start the child and start it again whenever it dies, until stopping."""
        while not self._stopping.is_set():
            proc = await self._spawn(slot)
            code = await proc.wait()
            if slot.relay is not None:
                await slot.relay
            if self._stopping.is_set():
                return
            ran = time.monotonic() - slot.started_at
            slot.last_exit = describe_exit(code)
            slot.start_failures = slot.start_failures + 1 if ran < self.settle_seconds else 0
            if slot.start_failures > START_FAILURES_TOLERATED:
                self.failure = (
                    f"worker process {slot.number} died {slot.start_failures} times in a row "
                    f"within {self.settle_seconds:.0f} s of starting (last: {slot.last_exit}); "
                    "its lines above say why"
                )
                self._stopping.set()  # the others stop too; the error line ends the run
                return
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** max(0, slot.start_failures - 1))
            slot.restarts += 1
            self.restarts.labels(slot.name).inc()
            log.warning(
                "worker process %d (pid %d) died after %.0f s (%s): starting it again in %.0f s",
                slot.number,
                proc.pid,
                ran,
                slot.last_exit,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _spawn(self, slot: Slot) -> asyncio.subprocess.Process:
        slot.port = free_port() if self.settings.metrics_port else 0
        env = {
            **os.environ,
            "LOGWEIR_METRICS_HOST": CHILD_HOST,
            "LOGWEIR_METRICS_PORT": str(slot.port),
            "PYTHONUNBUFFERED": "1",
        }
        proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            limit=1 << 20,
            # Its own process group: a Ctrl-C reaches the supervisor, which forwards it once.
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        slot.proc, slot.started_at = proc, time.monotonic()
        if self._stopping.is_set():  # asked to stop while it was being started
            proc.send_signal(self._signal)
        slot.relay = asyncio.create_task(self._relay(slot, proc))
        log.info("worker process %d started (pid %d)", slot.number, proc.pid)
        return proc

    async def _relay(self, slot: Slot, proc: asyncio.subprocess.Process) -> None:
        """The child's output, each line prefixed with its number, to this process' stdout."""
        assert proc.stdout is not None
        prefix = f"[worker {slot.number}] ".encode()
        out = sys.stdout.buffer
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                line = await proc.stdout.read(1 << 20)  # a line longer than the limit
            if not line:
                return
            out.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
            out.flush()

    async def _stop_children(self) -> None:
        live = [slot for slot in self.slots if slot.running()]
        for slot in live:
            assert slot.proc is not None
            with contextlib.suppress(ProcessLookupError):
                slot.proc.send_signal(self._signal)
        waits = [asyncio.create_task(slot.proc.wait()) for slot in live if slot.proc]
        if not waits:
            return
        _, late = await asyncio.wait(waits, timeout=self.stop_grace_seconds)
        if late:
            for slot in live:
                if slot.running():
                    assert slot.proc is not None
                    log.error(
                        "worker process %d (pid %d) did not stop within %.0f s: killed",
                        slot.number,
                        slot.proc.pid,
                        self.stop_grace_seconds,
                    )
                    with contextlib.suppress(ProcessLookupError):
                        slot.proc.kill()
            await asyncio.gather(*waits, return_exceptions=True)

    # --- observing -----------------------------------------------------------------------

    async def _serve(self) -> web.AppRunner | None:
        host, port = self.settings.metrics_host, self.settings.metrics_port
        if not port:
            return None
        return await endpoint.serve(host, port, self._metrics, self._health, " (all processes)")

    async def _get(self, slot: Slot, path: str) -> tuple[int, bytes] | str:
        """A child's answer (status, body), or a string saying why there is none."""
        if not slot.running():
            what = f"restarting after {slot.last_exit}" if slot.last_exit else "not running"
            return f"{what} ({slot.restarts} restarts)"
        if not slot.port:
            return "serves no /health (LOGWEIR_METRICS_PORT is 0)"
        assert self._session is not None
        url = f"http://{CHILD_HOST}:{slot.port}{path}"
        try:
            timeout = aiohttp.ClientTimeout(total=SCRAPE_SECONDS)
            async with self._session.get(url, timeout=timeout) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"not answering on {url} ({type(exc).__name__}); starting up?"

    async def _metrics(self, request: web.Request) -> web.Response:
        answers = await asyncio.gather(*(self._get(slot, "/metrics") for slot in self.slots))
        texts = {
            slot.name: answer[1].decode("utf-8", "replace")
            for slot, answer in zip(self.slots, answers, strict=True)
            if isinstance(answer, tuple) and answer[0] == 200
        }
        body = exposition(texts, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(self) -> dict[str, Any]:
        answers = await asyncio.gather(*(self._get(slot, "/health") for slot in self.slots))
        children: dict[str, dict[str, Any] | str] = {}
        for slot, answer in zip(self.slots, answers, strict=True):
            if isinstance(answer, str):
                children[slot.name] = answer
                continue
            try:
                document = orjson.loads(answer[1])
            except orjson.JSONDecodeError:
                children[slot.name] = f"answered HTTP {answer[0]} without a health document"
                continue
            pid = slot.proc.pid if slot.proc else None
            children[slot.name] = {**document, "pid": pid, "restarts": slot.restarts}
        return verdict(children)

    async def _health(self, request: web.Request) -> web.Response:
        report = await self.health()
        return web.Response(
            body=orjson.dumps(report),
            content_type="application/json",
            status=200 if report["status"] == "ok" else 503,
        )


def run(settings: Settings, processes: int, argv: Sequence[str], loglevel: str = "info") -> int:
    """Supervise `processes` children running `argv` until SIGTERM/SIGINT; the exit code."""
    logging.basicConfig(
        level=loglevel.upper(),
        format="[%(asctime)s] [supervisor] %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(Supervisor(settings, processes, argv).run())
