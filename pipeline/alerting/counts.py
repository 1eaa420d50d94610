"""What rules see, read from ClickHouse: bucketed counts (exactly-once, like the rows).

Counts come from the window counts table (per second × service × severity × template, filled
by a materialized view in the same insert as the rows), or from the rows themselves for rules
that match on bodies or attributes. Either way a worker restart neither loses nor double-counts.
Template ids are read through their aliases (`enrich.store`): ids merged into one template are
one group, named by its current id and shown with its most general text.

Every rule is read at once, not one by one: one query over the window counts for all the rules
that read them, one over the rows for all that match bodies or attributes, and one for the
texts of the templates their groups name; so an evaluation costs the same few queries however
many rules there are. (Read one by one, nine rules took 2.7 s per evaluation on a busy host,
longer than the 1 s interval, and their alerts came 2.5-2.9 s after the events: issue 16. On
the 2-core test host 50 rules took 50 queries and 1.5 s a tick that way, 4 and 0.15-0.19 s
read at once: tests/integration/test_alert_evaluation_cost.py.)
This is how a condition reads unless it reads its own source (see `conditions.base`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from pipeline.alerting import tables
from pipeline.alerting.match import Group, GroupKey, Match, group_of
from pipeline.alerting.windows import Observation, Series, Windowing
from pipeline.enrich.store import WITH_CANONICAL, canonical_id, general_texts
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
    # The rule's groups that fire now: an alert may be repeated or resolved for one with no
    # rows in the windows read (an absence), and still needs its template's text.
    firing: tuple[Group, ...] = ()


def window_counts(client: Client, queries: Sequence[Query]) -> list[Observation]:
    """Counts per group and bucket of the records each query's rule matches, one Observation
    per query, with the text of every template a group names: at most three queries."""
    seen: list[Observation] = [Observation() for _ in queries]
    for needs_rows in (False, True):
        part = [i for i, q in enumerate(queries) if q.match.needs_rows == needs_rows]
        if part:
            read = _read(client, [queries[i] for i in part], needs_rows)
            for i, observation in zip(part, read, strict=True):
                seen[i] = observation
    add_template_texts(client, seen, [q.firing for q in queries])
    return seen


def _read(client: Client, queries: Sequence[Query], needs_rows: bool) -> list[Observation]:
    """One query for all `queries` (all of the window counts, or all of the rows).

    Each source row is joined to the rules that match it (an ARRAY JOIN of their numbers),
    then counted per rule, group and bucket of that rule's granularity. A rule's keys that it
    does not group by are blanked in SQL, so ClickHouse sends one row per group, not one per
    template: the service is kept if the rule filters services by glob (matched here: what
    `fnmatch` means is not ClickHouse's to guess)."""
    if needs_rows:
        source, time_column, count = tables.LOGS, "TimestampTime", "toUInt64(1)"
        columns = ", Body, LogAttributes"
    else:
        source, time_column, count, columns = tables.WINDOW_COUNTS, "WindowStart", "Count", ""
    params: dict[str, object] = {
        "since": min(q.since for q in queries),
        "g": [q.windowing.granularity for q in queries],
        "by_service": [int(bool(q.match.services) or "service" in q.group_by) for q in queries],
        "by_severity": [int("severity" in q.group_by) for q in queries],
        "by_template": [int("template" in q.group_by) for q in queries],
    }
    matches = ", ".join(_matches(q, f"r{i}", params) for i, q in enumerate(queries))
    sql = f"""{WITH_CANONICAL}
SELECT Rule, Service, Severity, Template, groupArray((Bucket, Count))
FROM (
    SELECT Rule,
           if({{by_service:Array(UInt8)}}[Rule], ServiceName, '') AS Service,
           if({{by_severity:Array(UInt8)}}[Rule], SeverityNumber, 0) AS Severity,
           if({{by_template:Array(UInt8)}}[Rule], Canonical, 0) AS Template,
           intDiv(toUInt32(Time), {{g:Array(UInt32)}}[Rule]) * {{g:Array(UInt32)}}[Rule] AS Bucket,
           sum(Counted) AS Count
    FROM (
        SELECT ServiceName, SeverityNumber, {time_column} AS Time,
               {canonical_id()} AS Canonical, {count} AS Counted{columns}
        FROM {source} WHERE {time_column} >= toDateTime({{since:UInt32}})
    )
    ARRAY JOIN arrayFilter((rule, hit) -> hit, range(1, {len(queries) + 1}), [{matches}]) AS Rule
    GROUP BY Rule, Service, Severity, Template, Bucket
)
GROUP BY Rule, Service, Severity, Template"""
    by_rule: dict[int, list[CountRow]] = defaultdict(list)
    rows = client.query(sql, parameters=params).result_rows
    for rule, service, severity, template, buckets in rows:
        by_rule[rule - 1].extend(
            (service, severity_text(severity), template_hex(template), bucket, count)
            for bucket, count in buckets
        )
    return [fold(q, by_rule[i]) for i, q in enumerate(queries)]


def _matches(query: Query, name: str, params: dict[str, object]) -> str:
    """SQL: whether a row (of `Time`, `Canonical`, and the table's columns) is one `query`'s
    rule counts; its values go in `params` under names that start with `name`."""
    match = query.match
    params[f"{name}_since"] = query.since
    params[f"{name}_severity"] = int(match.min_severity)
    where = [
        f"Time >= toDateTime({{{name}_since:UInt32}})",
        f"SeverityNumber >= {{{name}_severity:UInt8}}",
    ]
    if match.template_id is not None:
        # Ids merged into one template count as it, whichever of them the rule names.
        where.append(f"Canonical = {canonical_id(f'{{{name}_template:UInt64}}')}")
        params[f"{name}_template"] = match.template_id
    if match.body_contains:
        where.append(f"position(Body, {{{name}_contains:String}}) > 0")
        params[f"{name}_contains"] = match.body_contains
    if match.body_regex:
        where.append(f"match(Body, {{{name}_regex:String}})")
        params[f"{name}_regex"] = match.body_regex
    for i, (key, value) in enumerate(sorted(match.attributes.items())):
        where.append(f"LogAttributes[{{{name}_k{i}:String}}] = {{{name}_v{i}:String}}")
        params[f"{name}_k{i}"], params[f"{name}_v{i}"] = key, value
    return " AND ".join(where)


def add_template_texts(
    client: Client, seen: Sequence[Observation], firing: Sequence[tuple[Group, ...]] = ()
) -> None:
    """Give every observation the text of each template its groups (and the groups firing
    for its rule, `firing[i]` for `seen[i]`) name that it has no text for: the most general
    text of the template, whichever merged id it was stored under. One query for all, none
    when no group names a template."""
    groups = [
        (*observation.series, *observation.new_groups, *(firing[i] if firing else ()))
        for i, observation in enumerate(seen)
    ]
    wanted: set[str] = set()
    for observation, named in zip(seen, groups, strict=True):
        for group in named:
            template = dict(group).get("template")
            if template is not None and template not in observation.template_texts:
                wanted.add(template)
    if not wanted:
        return
    rows = client.query(
        f"{WITH_CANONICAL} {general_texts('SELECT arrayJoin({ids:Array(UInt64)})')}",
        parameters={"ids": sorted(int(t, 16) for t in wanted)},
    ).result_rows
    texts = {template_hex(canonical): text for canonical, text in rows}
    for observation, named in zip(seen, groups, strict=True):
        for group in named:
            template = dict(group).get("template")
            if template in texts and template not in observation.template_texts:
                observation.template_texts[template] = texts[template]


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
