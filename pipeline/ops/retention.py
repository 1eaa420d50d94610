"""otel_logs retention: the TTL built from the retention settings, applied only when it changed."""

from __future__ import annotations

import re

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.errors import MigrationError, SettingsError, first_line
from pipeline.parsing import severity
from pipeline.settings import Settings

_TTL = re.compile(r" TTL (.+?)(?: SETTINGS |$)")
_DROP_PARTS = re.compile(r"ttl_only_drop_parts = (\d)")


def days_by_range(settings: Settings) -> list[tuple[int, int, int]]:
    """(first, last SeverityNumber, days) for each severity kept other than the default."""
    found = []
    for name, days in settings.retention_days_by_severity.items():
        try:
            first = severity.named(name)
        except ValueError as exc:
            raise SettingsError(f"LOGWEIR_RETENTION_DAYS_BY_SEVERITY names {exc}") from None
        if days < 1:
            raise SettingsError(
                f"LOGWEIR_RETENTION_DAYS_BY_SEVERITY[{name!r}] is {days}: keep rows at least 1 day"
            )
        if days != settings.retention_days:
            # An OpenTelemetry severity covers its number and the three above it.
            found.append((int(first), int(first) + 3, days))
    return sorted(found)


def ttl_expression(settings: Settings) -> str:
    """One row-level TTL: the row's time plus its severity's days (the default for the rest)."""
    branches = "".join(
        f"(SeverityNumber >= {lo}) AND (SeverityNumber <= {hi}), {days}, "
        for lo, hi, days in days_by_range(settings)
    )
    days = f"multiIf({branches}{settings.retention_days})" if branches else settings.retention_days
    return f"TimestampTime + toIntervalDay({days})"


def apply(client: Client, settings: Settings) -> list[str]:
    """Bring otel_logs' TTL to the settings; return the statements that had to run.

    Changing a TTL starts a background mutation that recomputes it for every stored part, so
    nothing runs when ClickHouse's normalized form of the wanted TTL is already in place.
    """
    try:
        engine = client.query(
            "SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
            "AND name = 'otel_logs'"
        ).result_rows[0][0]
        statements = changes(engine, _normalized(client, settings), settings)
        for statement in statements:
            client.command(statement)
    except ClickHouseError as exc:
        raise MigrationError(f"cannot set the otel_logs retention TTL: {first_line(exc)}") from exc
    return statements


def changes(engine: str, normalized_ttl: str, settings: Settings) -> list[str]:
    """The ALTERs that take a table whose `engine_full` is `engine` to the wanted retention."""
    statements = []
    # Whole parts can be dropped only when every row in them expires at once; with per-severity
    # days a day's part holds rows of several lifetimes, so expired rows must be deleted.
    drop_parts = 0 if days_by_range(settings) else 1
    current = _DROP_PARTS.search(engine)
    if current is None or int(current.group(1)) != drop_parts:
        statements.append(
            f"ALTER TABLE otel_logs MODIFY SETTING ttl_only_drop_parts = {drop_parts}"
        )
    ttl = _TTL.search(engine)
    if ttl is None or ttl.group(1) != normalized_ttl:
        statements.append(f"ALTER TABLE otel_logs MODIFY TTL {ttl_expression(settings)}")
    return statements


def _normalized(client: Client, settings: Settings) -> str:
    """The wanted TTL expression as ClickHouse prints it back in system.tables."""
    text = client.query(
        "SELECT formatQuerySingleLine({statement:String})",
        parameters={"statement": f"ALTER TABLE otel_logs MODIFY TTL {ttl_expression(settings)}"},
    ).result_rows[0][0]
    return text.split("MODIFY TTL ", 1)[1].removesuffix(")")
