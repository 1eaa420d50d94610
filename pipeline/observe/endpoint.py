"""The HTTP endpoint of `/metrics` and `/health`, for a worker and for the supervisor of
several worker processes alike."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(
    host: str, port: int, metrics: Handler, health: Handler, what: str = ""
) -> web.AppRunner:
    """Serve both on host:port; the runner to clean up at the end. A port that cannot be
    opened is said loudly and not raised: ingesting matters more than being watched."""
    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        log.error(
            "/metrics and /health are off: %s:%d cannot be opened (%s); set "
            "LOGWEIR_METRICS_PORT to a free port (0 turns them off)",
            host,
            port,
            exc.strerror or exc,
        )
        return runner
    log.info("metrics at http://%s:%d/metrics, health at /health%s", host, port, what)
    return runner
