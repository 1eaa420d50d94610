"""`logweir worker`: the stream worker, started as `python -m agents`.

The worker is the agents' wiring of the library; the CLI does not import it (nothing in
pipeline/ imports agents/). With one process (the default) it replaces this process with the
worker's own entry point, so signals, the pid and the exit code are the worker's. With
`--processes N` (or LOGWEIR_WORKER_PROCESSES) above 1 this process supervises N of them
(pipeline/supervise).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from pipeline.settings import Settings, invalid_settings


def worker(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="worker processes in the consumer group, supervised by this one "
            "(default: LOGWEIR_WORKER_PROCESSES, else 1)",
        ),
    ] = None,
) -> None:
    """Run the stream worker: consume logs.raw, parse, enrich, store in ClickHouse."""
    argv = [sys.executable, "-m", "agents", "--loglevel", loglevel]
    if processes == 1:
        os.execv(sys.executable, argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"error: {invalid_settings(exc)}")
    processes = processes or settings.worker_processes
    if processes == 1:
        os.execv(sys.executable, argv)
    # Imported here: the single-process path stays as light as it was.
    from pipeline.supervise import supervisor

    sys.exit(supervisor.run(settings, processes, argv, loglevel))
