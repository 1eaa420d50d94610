"""`logweir worker`: the stream worker, started as `python -m agents` in this process.

The worker is the agents' wiring of the library; the CLI does not import it (nothing in
pipeline/ imports agents/): it replaces this process with the worker's own entry point, so
signals, the pid and the exit code are the worker's.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer


def worker(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run the stream worker: consume logs.raw, parse, enrich, store in ClickHouse."""
    os.execv(sys.executable, [sys.executable, "-m", "agents", "--loglevel", loglevel])
