"""`logweir alerts check|test`: validate rules, send a sample alert to a webhook target."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.alerting import rules
from pipeline.cli.output import console, print_error
from pipeline.errors import SettingsError
from pipeline.settings import Settings

app = typer.Typer(help="Alert rules and webhook targets.", no_args_is_help=True)


@app.command("check")
def check(
    path: Annotated[
        Path | None, typer.Argument(help="rules file; default LOGWEIR_RULES_FILE")
    ] = None,
) -> None:
    """Validate a rules file and list the rules the worker would evaluate."""
    settings = Settings()
    if path is not None:
        settings = Settings(**{**dict(settings), "rules_file": path})
    try:
        active = rules.active(settings)
    except SettingsError as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    table = Table(
        title=f"{len(active)} rules"
        + (f" from {settings.rules_file}" if settings.rules_file else "")
    )
    for column in ("name", "condition", "match", "group by", "window"):
        table.add_column(column)
    for rule in active:
        window = f"{rule.window_seconds or settings.window_seconds}s" + (
            f" every {rule.hop_seconds}s" if rule.hop_seconds else ""
        )
        match = rule.match.model_dump(exclude_defaults=True)
        if "min_severity" in match:
            match["min_severity"] = rule.match.min_severity.name
        condition = _brief(rule.condition.model_dump(exclude={"type"}))
        table.add_row(
            rule.name,
            f"{rule.condition.type} {condition}",
            _brief(match) or "all",
            ", ".join(rule.group_by),
            window,
        )
    console.print(table)


def _brief(values: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


@app.command("test")
def test(
    target: Annotated[str, typer.Option(help="name of a target in LOGWEIR_WEBHOOKS")],
) -> None:
    """Send a sample firing alert to one webhook target and show its response."""
    from datetime import UTC, datetime

    from pipeline.alerting.notify.delivery import failure
    from pipeline.alerting.notify.sender import HttpSender
    from schemas.alerting import Alert

    settings = Settings()
    found = [t for t in settings.webhooks if t.name == target]
    if not found:
        names = ", ".join(t.name for t in settings.webhooks) or "none configured"
        raise SettingsError(f"no webhook target named {target!r} in LOGWEIR_WEBHOOKS ({names})")
    now = datetime.now(UTC)
    alert = Alert(
        status="firing",
        rule="logweir-test",
        fingerprint="0000000000000000",
        group={"service": "logweir"},
        labels={"alertname": "logweir-test"},
        annotations={"summary": "A test alert from `logweir alerts test`"},
        summary="A test alert from `logweir alerts test`",
        starts_at=now,
        value=1.0,
        window_start=now,
        window_end=now,
    )

    async def send() -> tuple[int, str]:
        sender = HttpSender(settings)
        try:
            return await sender(alert, found[0])
        finally:
            await sender.close()

    started = time.monotonic()
    try:
        status, text = asyncio.run(send())
    except Exception as exc:  # noqa: BLE001 - shown to the user as the outcome
        console.print(f"[red]{found[0].url} did not answer:[/red] {failure(exc)}")
        raise typer.Exit(1) from None
    ok = 200 <= status < 300
    console.print(
        f"{'[green]' if ok else '[red]'}HTTP {status}[/] from {found[0].url} "
        f"in {time.monotonic() - started:.2f}s ({found[0].kind} payload)"
    )
    if text:
        console.print(text)
    if not ok:
        raise typer.Exit(1)
