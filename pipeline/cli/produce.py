"""`logweir produce`: publish lines from a file or stdin."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from pipeline.cli.output import byte_progress, console
from pipeline.settings import Settings

# Lines sent before waiting for the broker's acks: bounds memory, keeps the pipe full.
BATCH = 2000


def produce(
    source: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="file of log lines; stdin if omitted"),
    ] = None,
    topic: Annotated[str | None, typer.Option(help="default: LOGWEIR_TOPIC_RAW")] = None,
    key: Annotated[str | None, typer.Option(help="message key, e.g. the service name")] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            help="k=v added to every message, repeatable (e.g. format=access, service=web)"
        ),
    ] = None,
) -> None:
    """Publish each line of a file (or stdin) as one Kafka message."""
    settings = Settings()
    topic = topic or settings.topic_raw
    headers = [_header(text) for text in header or ()]
    handle = open(source, "rb") if source else sys.stdin.buffer  # noqa: SIM115
    total = source.stat().st_size if source else None
    with (
        handle,
        byte_progress() as bars,
    ):
        task = bars.add_task("publishing to " + topic, total=total)
        count = asyncio.run(
            _send(settings, topic, key, headers, handle, lambda n: bars.advance(task, n))
        )
    console.print(f"produced {count} messages to {topic}")


def _header(text: str) -> tuple[str, bytes]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"{text!r} is not k=v", param_hint="--header")
    return name, value.encode()


def _batches(
    handle: BinaryIO, key: bytes | None
) -> Iterator[tuple[int, list[tuple[bytes | None, bytes]]]]:
    """(bytes read, messages) per batch; blank lines are skipped."""
    size, batch = 0, []
    for line in handle:
        size += len(line)
        if line.strip():
            batch.append((key, line.rstrip(b"\r\n")))
        if len(batch) >= BATCH:
            yield size, batch
            size, batch = 0, []
    if batch or size:
        yield size, batch


async def _send(
    settings: Settings,
    topic: str,
    key: str | None,
    headers: list[tuple[str, bytes]],
    handle: BinaryIO,
    advance: Callable[[int], None],
) -> int:
    from pipeline.shipping.kafka import connected, deliver

    count = 0
    async with connected(settings) as producer:
        for size, batch in _batches(handle, key.encode() if key else None):
            await deliver(producer, topic, batch, headers)
            count += len(batch)
            advance(size)
    return count
