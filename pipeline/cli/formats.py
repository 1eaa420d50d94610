"""`logweir formats …`: check a formats file (LOGWEIR_FORMATS_FILE), and show what a line
becomes with a format."""

from __future__ import annotations

import sys
from pathlib import Path
from time import gmtime, strftime
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.cli.output import console, err_console, print_error
from pipeline.errors import LogweirError
from pipeline.settings import Settings

app = typer.Typer(help="Formats of your own (a YAML file of grok/regex patterns).")

FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="formats file (default: LOGWEIR_FORMATS_FILE)"),
]


def _file(given: Path | None, settings: Settings) -> Path:
    path = given or settings.formats_file
    if path is None:
        raise LogweirError(
            "no formats file: give one (logweir formats check FILE) or set LOGWEIR_FORMATS_FILE"
        )
    return path


@app.command("check")
def check_command(
    file: Annotated[
        Path | None, typer.Argument(help="formats file (default: LOGWEIR_FORMATS_FILE)")
    ] = None,
) -> None:
    """Check a formats file as the worker does at start-up; list every problem, or the formats."""
    from pipeline import parsing
    from pipeline.parsing import user_formats

    settings = Settings()
    path = _file(file, settings)
    builtin = parsing.load()
    try:
        compiled = user_formats.read(path, reserved=_builtin_names(builtin))
    except user_formats.FormatsFileError as exc:
        for problem in exc.problems:
            print_error(str(problem))
        err_console.print(
            escape(f"{len(exc.problems)} problem(s) in {path}"), highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    known = set(_builtin_names(builtin)) | {fmt.name for fmt in compiled}
    unknown = {t: n for t, n in settings.topic_formats.items() if n not in known}
    table = Table(box=None, pad_edge=False)
    for title in ("format", "chosen by", "columns", "attributes"):
        table.add_column(title, overflow="fold")
    for fmt in compiled:
        topics = [t for t, n in settings.topic_formats.items() if n == fmt.name]
        chosen = [*(f"topic {t}" for t in topics), f"header format: {fmt.name}", *_detection(fmt)]
        table.add_row(
            Text(fmt.name),
            Text("\n".join(chosen)),
            Text("\n".join(f"{column} ← {group}" for column, group in fmt.columns.items())),
            Text(
                "\n".join(
                    group if group == key else f"{key} ← {group}"
                    for group, key in fmt.attributes.items()
                )
            ),
        )
    console.print(table)
    for topic, name in unknown.items():
        print_error(f"LOGWEIR_TOPIC_FORMATS[{topic!r}] names unknown format {name!r}")
    if unknown:
        raise typer.Exit(1)
    console.print(Text(f"{path}: {len(compiled)} format(s), no problems"))


def _builtin_names(registry: Any) -> list[str]:
    from pipeline.parsing import user_formats

    mine = set(user_formats.installed(registry))
    return [name for name in registry.parsers if name not in mine]


def _detection(fmt: Any) -> list[str]:
    from pipeline.parsing.__main__ import _spans

    return [
        f"detection: lines starting {_spans(claim.first)}, rank {claim.rank}"
        + (", with a guard" if claim.guard is not None else "")
        for claim in fmt.claims
    ]


@app.command("test")
def test_command(
    name: Annotated[str, typer.Argument(help="format name (yours or a built-in one)")],
    lines: Annotated[
        list[str] | None, typer.Argument(help="lines to parse (default: read from stdin)")
    ] = None,
    file: FileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Show what lines become with a format: columns, attributes, flags, or why it did not match."""
    from pipeline import parsing
    from pipeline.parsing import user_formats

    settings = Settings()
    registry = parsing.load()
    path = file or settings.formats_file
    compiled = {fmt.name: fmt for fmt in user_formats.install(path, registry)}
    if name not in registry.parsers:
        raise LogweirError(f"unknown format {name!r}: use one of {', '.join(registry.parsers)}")
    texts = lines if lines else [line.rstrip("\r\n") for line in sys.stdin]
    for text in texts:
        raw = text.encode("utf-8", "surrogateescape")
        record = registry.parsers[name](raw)
        why = ""
        if record is None:
            fmt = compiled.get(name)
            why = fmt.explain(raw) if fmt is not None else f"the {name} parser refused it"
            record = registry.parse(raw, name)  # detection, flagged format_mismatch
        shown = _shown(record)
        if as_json:
            shown = {"line": text, "matched": not why, "why": why, **shown}
            typer.echo(orjson.dumps(shown).decode())
            continue
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        table.add_row("line", Text(text))
        if why:
            table.add_row("[red]no match[/red]", Text(why))
        for key, value in shown.items():
            if isinstance(value, dict):
                value = "\n".join(f"{k} = {v}" for k, v in value.items())
            elif isinstance(value, list):
                value = ", ".join(value)
            table.add_row(key, Text(str(value)))
        console.print(table)
        console.print()


def _shown(record: Any) -> dict[str, Any]:
    """A record as the columns it becomes (before enrichment: no Kafka time, no template)."""
    ns = record.timestamp_ns
    stamp = (
        strftime("%Y-%m-%dT%H:%M:%S", gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
        if ns
        else "(none in the line: the Kafka time, flagged time_missing)"
    )
    return {
        "LogFormat": record.format,
        "Timestamp": stamp,
        "SeverityText": record.severity.text,
        "SeverityNumber": int(record.severity),
        "level": record.level,
        "ServiceName": record.service,
        "host": record.host,
        "ScopeName": record.logger,
        "TraceId": record.trace_id,
        "SpanId": record.span_id,
        "Body": record.body,
        "LogAttributes": record.attributes,
        "flags": record.flags,
    }
