"""Structured events worth a helper: a timed operation with its outcome, and a metric."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def operation(
    name: str, logger: logging.Logger | None = None, level: int = logging.INFO, **fields: object
) -> Iterator[dict[str, object]]:
    """Log `operation.name`, `operation.duration_ms` and `operation.status` when the block ends.

    A block that raises is logged as status `error` with the exception, then re-raised. The
    yielded dict takes more fields while the block runs (e.g. `op["order"] = order_id`).
    """
    log = logger or logging.getLogger()
    extra: dict[str, object] = dict(fields)
    started = time.perf_counter()
    try:
        yield extra
    except BaseException as exc:
        status = "error" if isinstance(exc, Exception) else "cancelled"
        log.error(
            "%s %s",
            name,
            status,
            exc_info=True,
            extra={**extra, "operation": _outcome(name, started, status)},
        )
        raise
    log.log(level, "%s ok", name, extra={**extra, "operation": _outcome(name, started, "ok")})


def metric(
    name: str, value: float, unit: str = "", logger: logging.Logger | None = None, **fields: object
) -> None:
    """Log a measurement as `metric.name`, `metric.value` and `metric.unit` attributes."""
    (logger or logging.getLogger()).info(
        "%s=%s%s",
        name,
        value,
        f" {unit}" if unit else "",
        extra={**fields, "metric": {"name": name, "value": value, "unit": unit}},
    )


def _outcome(name: str, started: float, status: str) -> dict[str, object]:
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return {"name": name, "duration_ms": duration_ms, "status": status}
