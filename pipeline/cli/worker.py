"""`logweir worker`: the stream worker."""

from __future__ import annotations

import gc
import logging
import time
from typing import Annotated

import typer

from pipeline import migrations
from pipeline.settings import Settings


def worker(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run the stream worker: consume logs.raw, parse, enrich, store in ClickHouse."""
    from faust.worker import Worker

    from agents import build

    settings = Settings()
    _wait_for_clickhouse(settings)
    applied = migrations.apply(settings)
    if applied:
        logging.getLogger("logweir").info(
            "applied migrations: %s", ", ".join(m.name for m in applied)
        )
    faust_app = build(settings)
    # Each batch keeps tens of thousands of young objects alive at once, so with the default
    # thresholds the collector kept walking them (full collections over the whole heap): 40%
    # of the worker's CPU in `logweir bench`. The ingest path makes few reference cycles;
    # young generations still collect often, full collections rarely.
    gc.freeze()
    gc.set_threshold(10_000, 20, 1000)
    Worker(faust_app, loglevel=loglevel, quiet=True).execute_from_commandline()


def _wait_for_clickhouse(settings: Settings, timeout: float = 30.0) -> None:
    from pipeline.clickhouse import connect
    from pipeline.errors import SinkUnavailable

    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(settings, database="").ping()
            return
        except SinkUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
