"""Versioned, idempotent schema migrations from schemas/migrations/NNNN_name.sql."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from clickhouse_connect.driver.exceptions import ClickHouseError

import schemas
from pipeline.clickhouse import connect
from pipeline.errors import MigrationError, first_line
from pipeline.ops import retention
from pipeline.settings import Settings

MIGRATIONS_DIR = Path(schemas.__file__).parent / "migrations"

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def available() -> list[Migration]:
    found = []
    for entry in MIGRATIONS_DIR.iterdir():
        m = _FILE.match(entry.name)
        if m is None:
            continue
        found.append(Migration(int(m.group(1)), m.group(2), _statements(entry.read_text())))
    return sorted(found, key=lambda mig: mig.version)


def _statements(sql: str) -> tuple[str, ...]:
    # Statements end with ";" at the end of a line; comments are dropped first.
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return tuple(p.strip() for p in parts if p.strip())


def apply(settings: Settings) -> list[Migration]:
    """Create the database, then apply every migration not yet recorded; return those applied."""
    database = settings.clickhouse_database
    try:
        connect(settings, database="").command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        client = connect(settings)
        client.command(
            f"CREATE TABLE IF NOT EXISTS `{database}`.schema_migrations "
            "(Version UInt32, Name String, AppliedAt DateTime64(3) DEFAULT now64(3)) "
            "ENGINE = ReplacingMergeTree ORDER BY Version"
        )
        done = {
            row[0]
            for row in client.query(
                f"SELECT DISTINCT Version FROM `{database}`.schema_migrations"
            ).result_rows
        }
    except ClickHouseError as exc:
        raise MigrationError(f"cannot prepare database {database!r}: {first_line(exc)}") from exc
    applied = []
    for migration in available():
        if migration.version in done:
            continue
        for statement in migration.statements:
            try:
                client.command(statement)
            except ClickHouseError as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed: {first_line(exc)}"
                ) from exc
        client.insert(
            f"`{database}`.schema_migrations",
            [[migration.version, migration.name]],
            column_names=["Version", "Name"],
        )
        applied.append(migration)
    retention.apply(client, settings)
    return applied
