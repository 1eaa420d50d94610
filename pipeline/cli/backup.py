"""`logweir backup [list]` and `logweir restore`: ClickHouse BACKUP/RESTORE of the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.filesize import decimal
from rich.table import Table

from pipeline.cli.output import byte_progress, console
from pipeline.settings import Settings

app = typer.Typer(help="Back up the logweir database with ClickHouse's BACKUP; list backups.")

Result = TypeVar("Result")


@app.callback(invoke_without_command=True)
def backup(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option(help="name of the backup (default: <database>-<UTC time>)")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="make an incremental backup on this one: only what changed is stored"),
    ] = None,
) -> None:
    """Back up the database to the ClickHouse `backups` disk (or LOGWEIR_BACKUP_S3_URL)."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.ops import backup as backups

    settings = Settings()
    label = backups.checked(settings, name, base).label
    made = _follow(
        "backing up",
        lambda progress: backups.backup(_client(settings), settings, name, base, progress),
    )
    on_base = f", on {base}" if base else ""
    console.print(
        f"backup {made.name} of {settings.clickhouse_database}: {made.files} files, "
        f"{decimal(made.size)} of data, {decimal(made.stored)} stored{on_base}, "
        f"in {made.seconds:.1f} s ({label})"
    )


@app.command("list")
def list_command() -> None:
    """The backups with their sizes: those on the disk, and those the server made."""
    from pipeline.ops import backup as backups

    settings = Settings()
    label = backups.checked(settings).label
    found = _guarded(lambda: backups.list_backups(_client(settings), settings))
    if not found:
        console.print(f"no backups in {label}")
        return
    table = Table("name", "made (UTC)", "database", "base", "size", "stored", "status")
    for column in (1, 4, 5):
        table.columns[column].no_wrap = True
    for b in found:
        table.add_row(
            b.name,
            f"{b.made:%Y-%m-%d %H:%M:%S}" if b.made else "",
            ", ".join(b.databases),
            b.base,
            decimal(b.size) if b.size is not None else "",
            decimal(b.stored) if b.stored is not None else "",
            b.status,
        )
    console.print(table)


def restore(
    name: Annotated[str, typer.Argument(help="the backup, as `logweir backup list` names it")],
    into: Annotated[
        str | None,
        typer.Option("--as", help="restore into this database (default: the configured one)"),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="drop the target database and its rows first, if it has tables"
        ),
    ] = False,
) -> None:
    """Restore a backup made by `logweir backup`; stop the workers first (or use --as)."""
    from pipeline.ops import backup as backups

    settings = Settings()
    backups.checked(settings, name)
    target = into or settings.clickhouse_database
    done = _follow(
        "restoring",
        lambda progress: backups.restore(
            _client(settings), settings, name, into, replace, progress
        ),
    )
    counts = _guarded(lambda: backups.tables(_client(settings), target))
    console.print(
        f"restored {target} from {name}: {len(counts)} tables, "
        f"{counts.get('otel_logs', 0):,} log rows, {decimal(done.size)} in {done.seconds:.1f} s"
    )


def _client(settings: Settings):  # type: ignore[no-untyped-def]
    from pipeline.clickhouse import connect

    # No database selected: it may not exist (a restore creates it).
    return connect(settings, database="")


def _guarded(action: Callable[[], Result]) -> Result:
    """ClickHouse errors from the driver as one line."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from pipeline.errors import first_line
    from pipeline.ops.backup import BackupError

    try:
        return action()
    except ClickHouseError as exc:
        raise BackupError(first_line(exc)) from exc


def _follow(what: str, action: Callable[[Callable[[int, int], None]], Result]) -> Result:
    """Run a backup or restore with a progress bar of the bytes the server reports."""
    with _bar(what) as advance:
        try:
            return _guarded(lambda: action(advance))
        except KeyboardInterrupt:
            console.print(
                f"stopped following; the server goes on {what}: `logweir backup list` shows "
                "when a backup is complete"
            )
            raise typer.Exit(130) from None


@contextmanager
def _bar(what: str) -> Iterator[Callable[[int, int], None]]:
    # Not on a pipe or a log file: it would leave an empty line there.
    bars = byte_progress(disable=not console.is_terminal)
    task = bars.add_task(what, total=None)

    def advance(done: int, total: int) -> None:
        bars.update(task, completed=done, total=total or None)

    with bars:
        yield advance
