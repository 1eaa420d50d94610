"""`logweir produce`: publish lines from a file or stdin."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import console
from pipeline.settings import Settings


def produce(
    source: Annotated[Path | None, typer.Argument(help="file of log lines; stdin if omitted")]
    = None,
    topic: Annotated[str | None, typer.Option(help="default: LOGWEIR_TOPIC_RAW")] = None,
    key: Annotated[str | None, typer.Option(help="message key, e.g. the service name")] = None,
) -> None:
    """Publish each line of a file (or stdin) as one Kafka message."""
    from pipeline.producer import produce as send

    settings = Settings()
    handle = open(source, "rb") if source else sys.stdin.buffer  # noqa: SIM115
    key_bytes = key.encode() if key else None
    with handle:
        lines = ((key_bytes, line.rstrip(b"\r\n")) for line in handle if line.strip())
        produced = asyncio.run(send(settings, lines, topic))
    console.print(f"produced {produced.count} messages to {produced.topic}")
