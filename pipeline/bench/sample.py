"""Realistic mixed log traffic for the demo and tests: several services, formats and levels."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import orjson

SERVICES = ("checkout", "payments", "auth", "search", "inventory")
PATHS = (
    "/api/cart",
    "/api/orders",
    "/api/login",
    "/api/search?q=shoes",
    "/health",
    "/api/items/8812",
    "/static/app.js",
)
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
    "Safari/537.36",
    "curl/8.5.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
ERRORS = (
    "payment provider timeout after {ms} ms (order {order})",
    "database connection refused: host=db-{n}.internal port=5432",
    "failed to reserve stock for sku {sku}: insufficient quantity",
)


class SampleTraffic:
    """An endless, seeded stream of (key, line) pairs; about `error_ratio` of them errors."""

    def __init__(
        self, seed: int = 7, error_ratio: float = 0.04, services: Sequence[str] = SERVICES
    ) -> None:
        self.rng = random.Random(seed)
        self.error_ratio = error_ratio
        self.services = tuple(services)

    def lines(self, count: int) -> Iterator[tuple[bytes | None, bytes]]:
        for _ in range(count):
            yield self.one()

    def one(self) -> tuple[bytes | None, bytes]:
        rng = self.rng
        service = rng.choice(self.services)
        return self._line(service, rng.random() < self.error_ratio)

    def error(self, service: str) -> tuple[bytes | None, bytes]:
        """One error line from `service`, in any of the formats (an incident's bursts)."""
        return self._line(service, True)

    def _line(self, service: str, error: bool) -> tuple[bytes | None, bytes]:
        kind = self.rng.random()
        if kind < 0.45:
            return None, self._json(service, error)
        if kind < 0.65:
            return service.encode(), self._access(error)
        if kind < 0.8:
            return service.encode(), self._python(service, error)
        if kind < 0.9:
            return service.encode(), self._logfmt(service, error)
        return service.encode(), self._text(error)

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _error_text(self) -> str:
        rng = self.rng
        return rng.choice(ERRORS).format(
            ms=rng.randint(1000, 30000),
            order=uuid.UUID(int=rng.getrandbits(128)),
            n=rng.randint(1, 4),
            sku=rng.randint(10000, 99999),
        )

    def _json(self, service: str, error: bool) -> bytes:
        rng = self.rng
        event = {
            "ts": self._now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": "error" if error else rng.choice(("info", "info", "info", "debug", "warn")),
            "service": service,
            "host": f"{service}-{rng.randint(1, 3)}",
            "msg": self._error_text()
            if error
            else rng.choice(("request handled", "cache miss", "user signed in", "order created")),
            "trace_id": f"{rng.getrandbits(128):032x}",
            "http": {
                "method": rng.choice(("GET", "POST")),
                "status": 500 if error else 200,
                "duration_ms": round(rng.lognormvariate(3, 0.8), 1),
            },
            "user": {"id": f"u{rng.randint(1, 500)}"},
        }
        return orjson.dumps(event)

    def _access(self, error: bool) -> bytes:
        rng = self.rng
        status = rng.choice((500, 502, 503)) if error else rng.choice((200, 200, 200, 304, 404))
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        when = self._now().strftime("%d/%b/%Y:%H:%M:%S +0000")
        return (
            f'{ip} - - [{when}] "{rng.choice(("GET", "POST"))} {rng.choice(PATHS)} HTTP/1.1" '
            f'{status} {rng.randint(200, 50000)} "-" "{rng.choice(AGENTS)}" '
            f"{rng.lognormvariate(-3, 1):.3f}"
        ).encode()

    def _python(self, service: str, error: bool) -> bytes:
        rng = self.rng
        when = self._now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        if error:
            return (
                f"{when} - {service}.worker - ERROR - {self._error_text()}\n"
                "Traceback (most recent call last):\n"
                f'  File "/srv/{service}/worker.py", line {rng.randint(10, 400)}, in run\n'
                "    result = client.call(payload)\n"
                "TimeoutError: upstream did not answer"
            ).encode()
        level = rng.choice(("INFO", "INFO", "DEBUG", "WARNING"))
        return f"{when} - {service}.worker - {level} - job {rng.randint(1, 9999)} done".encode()

    def _logfmt(self, service: str, error: bool) -> bytes:
        rng = self.rng
        when = self._now().isoformat(timespec="seconds").replace("+00:00", "Z")
        level = "error" if error else "info"
        msg = self._error_text() if error else "queue drained"
        return (
            f'time={when} level={level} service={service} msg="{msg}" '
            f"duration={rng.randint(1, 900)}ms queue=jobs-{rng.randint(1, 3)}"
        ).encode()

    def _text(self, error: bool) -> bytes:
        rng = self.rng
        if error:
            return f"ERROR {self._error_text()}".encode()
        return rng.choice(
            (
                b"Starting background sync",
                b"INFO connection pool resized to 32",
                b"WARN disk usage at 81% on /var/lib/data",
            )
        )


def bad_inputs() -> list[tuple[bytes | None, bytes]]:
    """Inputs every pipeline must survive: each must end stored or dead-lettered."""
    return [
        (None, b""),
        (None, b"   \n"),
        (None, b"\xff\xfe invalid utf-8 \xc3\x28 in a log line"),
        (None, b'["a JSON array", "not an object"]'),
        (None, b"{ this is not json at all"),
        (None, b"42"),
        (None, b"null"),
        (None, b"line with a NUL \x00 byte inside"),
        (None, b'{"msg": "deep", "a": ' + b'{"b": ' * 200 + b"1" + b"}" * 200 + b"}"),
        (None, b"x" * (5 * 1024 * 1024)),
        (None, f"epoch {time.time()}".encode()),
    ]
