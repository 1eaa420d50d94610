"""A real HTTP webhook receiver on 127.0.0.1, in a background thread, recording every request."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> dict:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """`respond(path, n)` decides the status of the n-th request (1-based) to `path`."""

    respond: Callable[[str, int], int] = lambda path, n: 200
    # Seconds to wait before answering the n-th request to a path (a slow or hung receiver).
    delay: Callable[[str, int], float] = lambda path, n: 0.0
    requests: list[Received] = field(default_factory=list)
    # 0: any free port; a port a stopped receiver had brings it back where the worker looks.
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            self.requests.append(Received(request.path, dict(request.headers), body, time.time()))
            n = len(self.on(request.path))
            await asyncio.sleep(self.delay(request.path, n))
            return web.Response(status=self.respond(request.path, n), text="ok")

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/{tail:.*}", handle)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "receiver did not start"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
