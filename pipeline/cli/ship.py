"""`logweir ship`: follow log files like `tail -F` and publish their records to Kafka."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.filesize import decimal
from rich.progress import Progress, SpinnerColumn, TextColumn

from pipeline.cli.output import console
from pipeline.errors import LogweirError
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.shipping.follow import Follower
    from pipeline.shipping.positions import PositionStore
    from pipeline.shipping.pump import Framing, Tally

# How often a quiet follower looks for new lines, new files and rotations.
POLL_SECONDS = 0.25


def ship(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="files or quoted globs ('/var/log/app/*.log'); new matches are picked up"
        ),
    ],
    service: Annotated[
        str | None, typer.Option(help="message key: the service the records belong to")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="default: LOGWEIR_TOPIC_RAW")] = None,
    multiline_start: Annotated[
        str | None,
        typer.Option(
            help=r"regex a record's first line matches, e.g. '^\d{4}-\d{2}-\d{2}'; other lines "
            "join the record before them"
        ),
    ] = None,
    multiline_timeout: Annotated[
        float,
        typer.Option(min=0.0, help="seconds without a new line before a joined record is sent"),
    ] = 1.0,
    once: Annotated[
        bool, typer.Option("--once", help="ship what the files hold now, then exit")
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(help="positions file; default: LOGWEIR_STATE_DIR/ship/<topic>.json"),
    ] = None,
) -> None:
    """Ship log files to Kafka, one record per message; a restart resumes where it left off.

    Exit codes: 0 done (or stopped by Ctrl-C / SIGTERM), 1 an error (one line on stderr),
    2 bad arguments. Positions are saved after every batch Kafka acknowledged.
    """
    from pipeline.shipping.follow import Follower
    from pipeline.shipping.positions import PositionStore
    from pipeline.shipping.pump import Framing

    settings = Settings()
    topic = topic or settings.topic_raw
    framing = Framing(
        _start_pattern(multiline_start), multiline_timeout, settings.max_message_bytes - 1024
    )
    store = PositionStore(state or settings.state_dir / "ship" / f"{topic}.json")
    follower = Follower(paths, store)
    follower.scan()
    if once and not follower.files:
        raise LogweirError(
            f"no file matches {' '.join(paths)}: check the paths (quote globs so logweir, not "
            "the shell, expands them and picks up new files)"
        )
    try:
        tally = asyncio.run(_run(settings, topic, service, follower, store, framing, once))
    finally:
        follower.close()
    console.print(
        f"shipped {tally.records} records ({tally.lines} lines, {decimal(tally.bytes)}) "
        f"to {topic}; positions in {store.path}"
    )


def _start_pattern(pattern: str | None) -> re.Pattern[bytes] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern.encode())
    except re.error as exc:
        raise typer.BadParameter(
            f"{pattern!r} is not a regular expression: {exc}", param_hint="--multiline-start"
        ) from None


async def _run(
    settings: Settings,
    topic: str,
    service: str | None,
    follower: Follower,
    store: PositionStore,
    framing: Framing,
    once: bool,
) -> Tally:
    from pipeline.shipping.kafka import connected
    from pipeline.shipping.pump import Pump

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
    ) as bars:
        task = bars.add_task("connecting to Kafka")

        def show(tally: Tally) -> None:
            bars.update(
                task,
                description=(
                    f"{tally.lines} lines · {decimal(tally.bytes)} · "
                    f"{tally.lines_per_second:,.0f} lines/s · {tally.files} files"
                ),
            )

        async with connected(settings) as producer:
            key = service.encode() if service else None
            pump = Pump(producer, topic, key, follower, store, framing)
            if once:
                await pump.drain(show)
            else:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
                await pump.follow(stop, POLL_SECONDS, show)
        return pump.tally
