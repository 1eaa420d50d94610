"""The HTTP intake's figure: events/s from POST to queryable rows, and the CPU per event of
the intake and of the worker, on the same corpus as the direct-Kafka figures.

`logweir intake` runs as a child process on the measurement's scratch topics and database,
with a token of its own (any service, no rate limit). Once it answers /health and the worker is
consuming, the clock starts (measure.drain, as for the other drains) and this process POSTs
the corpus to `/ingest` over a few concurrent keep-alive connections, each request
`EVENTS_PER_REQUEST` events of one producer: the corpus's JSON events as NDJSON, the other
lines of each service as raw lines with `?service=`. The clock stops when the last row is
queryable. Raw lines are one event per line, as a client posting a log file sends them, so a
multi-line event (a traceback) is an event per line: the event count is the intake's, a few
percent over the corpus's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from pipeline.bench import measure
from pipeline.bench.corpus import Corpus
from pipeline.errors import LogweirError
from pipeline.intake import events
from pipeline.intake.server import READY
from pipeline.settings import Settings
from pipeline.stack.child import Child
from pipeline.stack.process import free_port

# Events per request: what a small batching client sends (a script, a serverless function, an
# SDK flushing a short interval), ~16 KiB of this corpus. Collectors and shippers batch more
# (the OpenTelemetry Collector up to 8192 records): per-request costs weigh less there.
EVENTS_PER_REQUEST = 100
# Keep-alive connections posting at once: the intake answers each request only once Kafka
# acknowledged it, so a single connection would measure the broker's round trip instead.
CONNECTIONS = 8
COMMAND = [sys.executable, "-m", "pipeline.cli", "intake"]
NDJSON = events.NDJSON[0]


@dataclass(frozen=True)
class Request:
    service: str  # "" when the events name their own (the JSON events do)
    content_type: str
    body: bytes
    events: int  # as the intake counts them


@dataclass(frozen=True)
class IntakeDrain:
    drain: measure.Drain
    requests: int
    connections: int
    # Seconds from the clock's start until the intake had answered every request.
    post_seconds: float
    intake_cpu_seconds: float
    intake_peak_rss_mb: float
    # This process: the HTTP client posting, and the row count polled every 50 ms.
    client_cpu_seconds: float


def requests(corpus: Corpus, per_request: int = EVENTS_PER_REQUEST) -> list[Request]:
    """The corpus as POST bodies, in the corpus's order: a request is sent once its producer
    (the JSON events, or one service's lines) has `per_request` events, the rest at the end."""
    pending: dict[bytes | None, list[bytes]] = {}
    found: list[Request] = []

    def flush(key: bytes | None) -> None:
        lines = pending.pop(key, [])
        if not lines:
            return
        body = b"\n".join(lines) + b"\n"
        if key is None:  # the corpus's JSON events, each naming its service
            found.append(Request("", NDJSON, body, len(events.ndjson_lines(body))))
        else:
            found.append(Request(key.decode(), events.TEXT, body, len(events.text_lines(body))))

    for key, value in corpus.messages:
        lines = pending.setdefault(key, [])
        lines.append(value)
        if len(lines) >= per_request:
            flush(key)
    for key in list(pending):
        flush(key)
    return found


def drain(
    settings: Settings,
    corpus: Corpus,
    per_request: int = EVENTS_PER_REQUEST,
    connections: int = CONNECTIONS,
    timeout: float = 600.0,
) -> IntakeDrain:
    """POST `corpus` to an intake while one worker runs; timed as measure.drain times a drain."""
    token = secrets.token_urlsafe(24)
    settings = Settings(
        **{
            **dict(settings),
            "intake_host": "127.0.0.1",
            "intake_port": free_port(),
            "intake_tokens": {token: ""},
            "intake_rate_events_per_second": 0.0,
        }
    )
    bodies = requests(corpus, per_request)
    expected = sum(r.events for r in bodies)
    url = f"http://{settings.intake_host}:{settings.intake_port}"
    log = settings.state_dir / "bench" / f"{settings.app_id}-intake.log"
    intake = Child(COMMAND, log, {**os.environ, **settings.to_env()}).start()
    posted: list[float] = []

    def load() -> None:
        started = time.perf_counter()
        accepted = asyncio.run(_post(url, token, bodies, connections, timeout))
        posted.append(time.perf_counter() - started)
        if accepted != expected:
            raise LogweirError(f"the intake accepted {accepted} of {expected} events; log {log}")

    try:
        _wait_ready(intake, url, timeout)
        d = measure.drain(
            settings, expected, measure.WORKER, timeout=timeout, load=load, companions=[intake.pid]
        )
        rss = measure._peak_rss_mb(intake.pid)
    finally:
        intake.stop()
    return IntakeDrain(
        d,
        len(bodies),
        connections,
        posted[0],
        d.cpu_by_pid.get(intake.pid, 0.0),
        rss,
        d.cpu_by_pid.get(os.getpid(), 0.0),
    )


def figures(r: IntakeDrain) -> dict[str, float]:
    """The bench-results.json entry: rates, CPU per million events, cores, peak RSS."""
    d = r.drain
    return {
        "events_per_s": round(d.rate),
        "seconds": round(d.seconds, 2),
        "events": d.events,
        "requests": r.requests,
        "events_per_request": round(d.events / r.requests, 1),
        "connections": r.connections,
        "accepted_events_per_s": round(d.events / r.post_seconds),
        "intake_cpu_s_per_million": round(r.intake_cpu_seconds / d.events * 1e6, 1),
        "cpu_s_per_million": round(d.cpu_per_million, 1),
        "intake_peak_rss_mb": round(r.intake_peak_rss_mb),
        "peak_rss_mb": round(d.peak_rss_mb),
        "intake_cores": round(r.intake_cpu_seconds / d.seconds, 2),
        "worker_cores": round(d.worker_cores, 2),
        "client_cores": round(r.client_cpu_seconds / d.seconds, 2),
        "clickhouse_cores": round(d.clickhouse_cores, 2),
        "broker_cores": round(d.broker_cores, 2),
        "other_processes_cores": round(d.other_cores, 2),
    }


async def _post(
    url: str, token: str, bodies: list[Request], connections: int, timeout: float
) -> int:
    """POST every request over `connections` keep-alive connections; the events accepted."""
    queue: Iterator[Request] = iter(bodies)
    accepted = 0

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        for request in queue:  # one iterator shared by the senders: each request once
            target = f"{url}/ingest"
            if request.service:
                target += f"?service={quote(request.service)}"
            headers = {"Authorization": f"Bearer {token}", "Content-Type": request.content_type}
            async with session.post(target, data=request.body, headers=headers) as answer:
                if answer.status != 200:
                    raise LogweirError(
                        f"the intake answered {answer.status} to a benchmark request: "
                        f"{(await answer.text()).strip()[:300]}"
                    )
                accepted += int((await answer.json())["accepted"])

    connector = aiohttp.TCPConnector(limit=connections)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        await asyncio.gather(*(sender(session) for _ in range(connections)))
    return accepted


def _wait_ready(intake: Child, url: str, timeout: float) -> None:
    """Until the intake listens and its Kafka producer is connected (/health answers 200)."""
    deadline = time.monotonic() + timeout
    while True:
        if not intake.alive():
            raise LogweirError(f"the benchmark intake stopped; log in {intake.log_path}")
        if READY in intake.log_text():
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # 503 until the producer is connected
        if time.monotonic() > deadline:
            raise LogweirError(
                f"the benchmark intake did not become ready; log in {intake.log_path}"
            )
        time.sleep(0.05)
