"""The intake's HTTP server (aiohttp): routes, the answer to every refusal, start and stop.

Routes share one `Intake` (settings, auth, publisher, formats) found at `app[INTAKE]`. A new
route is a handler that starts with `intake.caller(request)` (auth, the same 401/403 as here),
its work in a module of its own (`tail` for `GET /v1/tail`), and one line in `ROUTES`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline import parsing
from pipeline.errors import SettingsError
from pipeline.intake import body, events, metrics, otlp, tail
from pipeline.intake.auth import Auth, Caller
from pipeline.intake.publisher import Publisher
from pipeline.intake.rejection import Rejected, bad_request
from pipeline.parsing import user_formats
from pipeline.settings import Settings

log = logging.getLogger("logweir.intake")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Announced once the server listens: tests and the benchmark wait for it.
READY = "intake listening on"
# Names in a Kafka header and a ServiceName: anything readable, but not a document.
MAX_SERVICE_CHARS = 256
# Room for the headers around a request's message (Kafka counts them in its size).
MESSAGE_OVERHEAD_BYTES = 1024


class Intake:
    """What every route needs: who may send, where it goes, which formats exist."""

    def __init__(self, settings: Settings, publisher: Publisher | None = None) -> None:
        if not settings.intake_tokens:
            raise SettingsError(
                "LOGWEIR_INTAKE_TOKENS is empty: set it to a JSON map of bearer token to the "
                'service it may write ("" for any), e.g. \'{"s3cret": ""}\''
            )
        self.settings = settings
        self.auth = Auth(settings.intake_tokens, settings.intake_rate_events_per_second)
        self.publisher = publisher or Publisher(settings)
        self.formats = parsing.load()
        user_formats.install(settings.formats_file, self.formats)  # as the worker does
        self.tail_streams = tail.TailStreams(settings.intake_tail_max_streams)

    def caller(self, request: web.Request) -> Caller:
        return self.auth.caller(request.headers.get("Authorization"))

    def check_format(self, name: str) -> None:
        if name and name not in self.formats.parsers:
            raise bad_request(f"unknown format {name!r}: one of {', '.join(self.formats.parsers)}")

    def check_services(self, lines: Sequence[bytes], fmt: str, service: str) -> None:
        """A token bound to a service writes no event that names another: read each event as
        the worker's parser will (the service enricher prefers the event's own service)."""
        for number, line in enumerate(lines, start=1):
            own = self.formats.parse(line, fmt or None).service
            if own and own != service:
                raise Rejected(
                    403, f"event {number} names service {own!r}; this token writes {service!r}"
                )

    async def publish(
        self, route: str, key: str, lines: Sequence[bytes], headers: list[tuple[str, bytes]]
    ) -> None:
        """One Kafka message of newline-delimited events; returns once Kafka acked it."""
        value = b"\n".join(lines)
        if len(value) + MESSAGE_OVERHEAD_BYTES > self.settings.max_message_bytes:
            raise Rejected(
                413,
                f"the request makes a Kafka message of {len(value)} bytes, over "
                f"LOGWEIR_MAX_MESSAGE_BYTES ({self.settings.max_message_bytes}): send fewer "
                "events per request",
            )
        started = time.perf_counter()
        await self.publisher.publish(key.encode() or None, value, [("framing", b"lines"), *headers])
        metrics.publish_seconds.observe(time.perf_counter() - started)
        metrics.accepted_events.labels(route).inc(len(lines))
        metrics.accepted_bytes.labels(route).inc(len(value))


INTAKE = web.AppKey("intake", Intake)


def _requested(request: web.Request, name: str) -> str:
    """A query parameter, else the `X-Logweir-<Name>` header."""
    value = request.query.get(name) or request.headers.get(f"X-Logweir-{name.title()}") or ""
    return value.strip()


async def ingest(request: web.Request) -> web.Response:
    """`POST /ingest`: raw lines, NDJSON or JSON; `service` and `format` from the query or
    X-Logweir-Service / X-Logweir-Format."""
    intake = request.app[INTAKE]
    caller = intake.caller(request)
    service = intake.auth.service(caller, _requested(request, "service"))
    if len(service) > MAX_SERVICE_CHARS:
        raise bad_request(f"the service name is over {MAX_SERVICE_CHARS} characters")
    fmt = _requested(request, "format")
    intake.check_format(fmt)
    content_type = _content_type(request)
    events.check_type(content_type)
    lines = events.lines(
        content_type, await body.read(request, intake.settings.intake_max_body_bytes)
    )
    if caller.service:
        intake.check_services(lines, fmt, caller.service)
    if lines:
        intake.auth.admit(caller, len(lines))
        headers = [
            (name, value.encode())
            for name, value in (("service", service), ("format", fmt))
            if value
        ]
        await intake.publish("ingest", service, lines, headers)
    return web.json_response({"accepted": len(lines)})


async def otlp_logs(request: web.Request) -> web.Response:
    """`POST /v1/logs`: OTLP/HTTP logs, protobuf or JSON, answered in the same encoding."""
    intake = request.app[INTAKE]
    content_type = _content_type(request)
    caller = intake.caller(request)
    otlp.check_type(content_type)
    decoded = otlp.decode(
        content_type, await body.read(request, intake.settings.intake_max_body_bytes)
    )
    lines, key = [], caller.service
    for service, line in otlp.events(decoded):
        if caller.service and service and service != caller.service:
            raise Rejected(
                403, f"resource service.name {service!r}: this token writes {caller.service!r}"
            )
        key = key or service
        lines.append(line)
    if lines:
        intake.auth.admit(caller, len(lines))
        headers = [("format", otlp.otlp_format.NAME.encode())]
        if caller.service:  # records without service.name are the token's service
            headers.append(("service", caller.service.encode()))
        await intake.publish("otlp", key, lines, headers)
    return web.Response(body=otlp.response(content_type), content_type=content_type)


async def tail_stream(request: web.Request) -> web.StreamResponse:
    """Rows as they are stored, as Server-Sent Events (`pipeline.intake.tail`)."""
    intake = request.app[INTAKE]
    caller = intake.caller(request)
    return await tail.respond(request, intake.settings, caller, intake.tail_streams)


async def health(request: web.Request) -> web.Response:
    """200 "ok" while Kafka answers, 503 "degraded" with the reason otherwise."""
    intake = request.app[INTAKE]
    kafka = await intake.publisher.kafka_up()
    reasons = [] if kafka else [f"Kafka at {intake.settings.kafka_bootstrap} is not answering"]
    report = {"status": "degraded" if reasons else "ok", "kafka": kafka, "reasons": reasons}
    return web.json_response(report, status=503 if reasons else 200, dumps=_dumps)


async def prometheus(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


ROUTES: tuple[tuple[str, str, str, Handler], ...] = (
    # (method, path, name in metrics, handler)
    ("POST", "/v1/logs", "otlp", otlp_logs),
    ("POST", "/ingest", "ingest", ingest),
    ("GET", "/v1/tail", "tail", tail_stream),
    ("GET", "/health", "health", health),
    ("GET", "/metrics", "metrics", prometheus),
)


def _content_type(request: web.Request) -> str:
    # aiohttp's content_type says application/octet-stream when the header is missing.
    return request.content_type if "Content-Type" in request.headers else ""


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _refusal(request: web.Request, rejected: Rejected) -> web.Response:
    """The answer to a refused request: OTLP's Status message on /v1/logs, JSON elsewhere."""
    headers = {}
    if rejected.retry_after is not None:
        headers["Retry-After"] = str(rejected.retry_after)
    if rejected.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="logweir intake"'
    if request.path == "/v1/logs":
        encoding = _content_type(request)
        encoding = encoding if encoding in otlp.ENCODINGS else otlp.JSON
        return web.Response(
            status=rejected.status,
            body=otlp.status(encoding, rejected.reason),
            content_type=encoding,
            headers=headers,
        )
    return web.json_response(
        {"error": rejected.reason}, status=rejected.status, headers=headers, dumps=_dumps
    )


# aiohttp would gunzip (and inflate brotli, deflate) bodies itself, with no limit on the size
# they reach: body.read does it within intake_max_body_bytes instead.
RUNNER_OPTIONS: dict[str, Any] = {"auto_decompress": False}


def application(intake: Intake) -> web.Application:
    names = {path: name for _, path, name, _ in ROUTES}

    @web.middleware
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except Rejected as rejected:
            response = _refusal(request, rejected)
        except web.HTTPException as exc:  # 404, 405 from the router
            response = exc
        metrics.requests.labels(names.get(request.path, "other"), str(response.status)).inc()
        if isinstance(response, web.HTTPException):
            raise response
        return response

    # Bodies are read by body.read within intake_max_body_bytes, not by aiohttp's own limit.
    app = web.Application(middlewares=[answer])
    app[INTAKE] = intake
    for method, path, _, handler in ROUTES:
        app.router.add_route(method, path, handler)

    async def publisher(app: web.Application) -> AsyncIterator[None]:
        await intake.publisher.start()
        yield
        await intake.publisher.stop()

    app.cleanup_ctx.append(publisher)
    return app


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and stop."""
    runner = web.AppRunner(application(Intake(settings)), access_log=None, **RUNNER_OPTIONS)
    await runner.setup()
    site = web.TCPSite(runner, settings.intake_host, settings.intake_port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise SettingsError(
            f"the intake cannot listen on {settings.intake_host}:{settings.intake_port} "
            f"({exc.strerror or exc}): set LOGWEIR_INTAKE_PORT to a free port"
        ) from None
    log.info(
        "%s http://%s:%d (POST /v1/logs, POST /ingest, GET /health, GET /metrics) → %s",
        READY,
        settings.intake_host,
        settings.intake_port,
        settings.topic_raw,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        log.info("intake stopping")
        await runner.cleanup()
