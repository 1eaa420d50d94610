"""Where the CLI writes: rich consoles and the progress bar layout every long task uses."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

console = Console()
err_console = Console(stderr=True)


def print_error(message: str) -> None:
    """`error: …` on one line however long (not wrapped at the terminal's width, so a script
    or a test reads it whole), with brackets shown as they are, not read as markup."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def byte_progress(disable: bool = False) -> Progress:
    """The bar of a task counted in bytes (publishing a file, a backup or restore), gone once
    done; each task's description is its label."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    )
