"""`logweir tail`: follow new log rows as they are stored, like `kubectl logs -f`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from pipeline.cli.output import console, err_console, print_error
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.query.tail import Row


class TailFormat(StrEnum):
    text = "text"
    json = "json"


# ANSI colours by SeverityNumber range (OTel: 1-4 TRACE … 21-24 FATAL), like most log viewers.
_COLOURS = {1: "2", 5: "36", 9: "32", 13: "33", 17: "31", 21: "1;31"}
_RESET = "\x1b[0m"


def tail(
    service: Annotated[str, typer.Option(help="only this service (ServiceName)")] = "",
    severity: Annotated[
        str | None, typer.Option(help="this level and above: TRACE … FATAL or 1-24")
    ] = None,
    contains: Annotated[
        str, typer.Option(help="only bodies holding this text (case matters)")
    ] = "",
    regex: Annotated[str, typer.Option(help="only bodies matching this RE2 expression")] = "",
    template: Annotated[
        str | None, typer.Option(help="only rows of this template id (`logweir query templates`)")
    ] = None,
    attribute: Annotated[
        list[str] | None,
        typer.Option(help="only rows with LogAttributes key=value; repeat for several"),
    ] = None,
    since: Annotated[
        str, typer.Option(help="first show rows since: a duration ago (15m, 1h) or ISO time")
    ] = "now",
    fmt: Annotated[
        TailFormat, typer.Option("--format", help="text (coloured on a terminal) or json lines")
    ] = TailFormat.text,
) -> None:
    """Follow new log rows as they are stored (every row once, in order per partition);
    Ctrl-C stops."""
    from pipeline.clickhouse import connect
    from pipeline.query.tail import (
        Filters,
        follow_batches,
        parse_attribute,
        parse_severity,
        parse_since,
        parse_template_id,
    )

    filters = Filters(
        service=service,
        min_severity=parse_severity(severity) if severity is not None else 0,
        contains=contains,
        regex=regex,
        template_id=parse_template_id(template) if template is not None else None,
        attributes=tuple(parse_attribute(a) for a in attribute or ()),
    )
    start = parse_since(since)
    settings = Settings()
    # The driver logs each failed request; the tail says itself, once, that ClickHouse is away.
    logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)
    # rich decides whether the terminal takes colour (NO_COLOR, TERM=dumb, a pipe); the lines are
    # written directly, as rich renders a few thousand lines a second at most.
    colour = fmt is TailFormat.text and console.is_terminal and console.color_system is not None
    render = _json_line if fmt is TailFormat.json else (_coloured_line if colour else _text_line)

    def outage(message: str | None) -> None:
        if message is None:
            err_console.print("[green]ClickHouse answers again: following[/green]")
        else:
            print_error(message)

    async def run(out: TextIO) -> None:
        # Ctrl-C or SIGTERM is how a tail ends. Handled here, not left to asyncio.run, which
        # handles SIGINT only where it has Python's default handler: a tail started from a
        # script in the background (SIGINT ignored there) would not end on it.
        following = asyncio.current_task()
        assert following is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, following.cancel)
        try:
            async for batch in follow_batches(
                lambda: connect(settings), filters, start, on_unavailable=outage
            ):
                if batch:
                    out.write("".join(render(row) for row in batch))
                    out.flush()
        except asyncio.CancelledError:
            return

    try:
        asyncio.run(run(sys.stdout))
    except KeyboardInterrupt:
        pass  # a Ctrl-C before the tail was following
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, without Python's own complaint at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _severity(row: Row) -> str:
    return row.severity_text.upper() or "-"


def _text_line(row: Row) -> str:
    return f"{row.time_text(3)} {_severity(row):<5} {row.service} {row.body}\n"


def _coloured_line(row: Row) -> str:
    colour = _COLOURS.get(max((n for n in _COLOURS if n <= row.severity_number), default=1), "0")
    # A body is the producer's text: its escape sequences must not drive the terminal.
    body = row.body.replace("\x1b", "\\x1b")
    return (
        f"\x1b[2m{row.time_text(3)}{_RESET} \x1b[{colour}m{_severity(row):<5}{_RESET} "
        f"\x1b[1m{row.service}{_RESET} {body}\n"
    )


def _json_line(row: Row) -> str:
    import orjson

    return orjson.dumps(row.to_json()).decode() + "\n"
