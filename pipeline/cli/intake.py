"""`logweir intake`: the HTTP intake server (pipeline/intake) in this process."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from pipeline.settings import Settings


def intake(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Serve HTTP intake: OTLP/HTTP logs at POST /v1/logs, lines, NDJSON or JSON at POST /ingest,
    each published to logs.raw and answered once Kafka acknowledged it (LOGWEIR_INTAKE_*)."""
    from pipeline.intake import server

    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # aiokafka logs every failed connection attempt; the intake says it once, in words.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    asyncio.run(server.serve(Settings()))
