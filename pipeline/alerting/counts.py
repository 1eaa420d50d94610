"""What a rule sees, read from ClickHouse: bucketed counts (exactly-once, like the rows).

Counts come from the window counts table (per second × service × severity × template, filled
by a materialized view in the same insert as the rows), or from the rows themselves for rules
that match on bodies or attributes. Either way a worker restart neither loses nor double-counts.
Template ids are read through their aliases (`enrich.store`): ids merged into one template are
one group.
This is how a condition reads unless it reads its own source (see `conditions.base`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from pipeline.alerting import tables
from pipeline.alerting.match import GroupKey, Match, group_of
from pipeline.alerting.windows import Observation, Series, Windowing
from pipeline.enrich.store import WITH_CANONICAL, canonical_id
from schemas.records import Severity

# (service, severity text, template id as 16 hex digits, bucket start, count)
CountRow = tuple[str, str, str, int, int]


@dataclass(frozen=True, slots=True)
class Query:
    """What one evaluation of one rule reads: its records, grouped, in buckets since `since`."""

    match: Match
    group_by: tuple[GroupKey, ...]
    windowing: Windowing
    since: int  # Unix seconds: the start of the oldest window the rule looks at
    now: float


def window_counts(client: Client, query: Query) -> Observation:
    """Counts per group and bucket of the records the rule matches."""
    match = query.match
    params: dict[str, object] = {
        "since": query.since,
        "g": query.windowing.granularity,
        "min_severity": int(match.min_severity),
    }
    where = ["{time} >= toDateTime({since:UInt32})", "SeverityNumber >= {min_severity:UInt8}"]
    if match.template_id is not None:
        # Ids merged into one template count as it, whichever of them the rule names.
        where.append(f"{canonical_id()} = {canonical_id('{template_id:UInt64}')}")
        params["template_id"] = match.template_id
    if match.needs_rows:
        source, time_column, count = tables.LOGS, "TimestampTime", "count()"
        if match.body_contains:
            where.append("position(Body, {contains:String}) > 0")
            params["contains"] = match.body_contains
        if match.body_regex:
            where.append("match(Body, {regex:String})")
            params["regex"] = match.body_regex
        for i, (key, value) in enumerate(sorted(match.attributes.items())):
            where.append(f"LogAttributes[{{k{i}:String}}] = {{v{i}:String}}")
            params[f"k{i}"], params[f"v{i}"] = key, value
    else:
        source, time_column, count = tables.WINDOW_COUNTS, "WindowStart", "sum(Count)"
    sql = (
        f"{WITH_CANONICAL} SELECT ServiceName, SeverityNumber, {canonical_id()} AS Canonical, "
        f"toUInt32(toStartOfInterval({time_column}, toIntervalSecond({{g:UInt32}}))) AS b, "
        f"{count} FROM {source} WHERE {' AND '.join(where).replace('{time}', time_column)} "
        "GROUP BY ServiceName, SeverityNumber, Canonical, b"
    )
    rows = client.query(sql, parameters=params).result_rows
    return fold(
        query,
        (
            (service, severity_text(sev), template_hex(template), bucket, count)
            for service, sev, template, bucket, count in rows
        ),
    )


def fold(query: Query, rows: Iterable[CountRow]) -> Observation:
    """Fold count rows into per-group series (rows of services the rule does not match are
    left out: service globs are matched here, not in SQL)."""
    seen = Observation()
    granularity = query.windowing.granularity
    for service, severity, template, bucket, count in rows:
        if not query.match.matches_service(service):
            continue
        group = group_of(query.group_by, service, severity, template)
        series = seen.series.get(group)
        if series is None:
            series = seen.series[group] = Series()
        series.buckets[bucket - bucket % granularity] += count
    return seen


def severity_text(number: int) -> str:
    try:
        return Severity(number).text or "UNSPECIFIED"
    except ValueError:
        return str(number)


def template_hex(template_id: int) -> str:
    return f"{template_id:016x}"
