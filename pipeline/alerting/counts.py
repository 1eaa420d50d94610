"""What a rule sees, read from ClickHouse: bucketed counts (exactly-once, like the rows).

Counts come from `log_window_counts` (per second × service × severity × template, filled by a
materialized view in the same insert as the rows), or from `otel_logs` itself for rules that
match on bodies or attributes. Either way a worker restart neither loses nor double-counts.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from pipeline.alerting.engine import Engine, Observation, group_of, observe
from schemas.alerting import AlertRule, NewTemplate
from schemas.records import Severity

# A brand-new database has only new templates: none counts as new until it has learned this
# many windows of history.
LEARNING_WINDOWS = 10


def observation(client: Client, engine: Engine, rule: AlertRule, now: float) -> Observation:
    windowing = engine.windowing(rule)
    if isinstance(rule.condition, NewTemplate):
        return _new_templates(client, rule, windowing.size, now)
    since = int(now) - engine.lookback_windows(rule) * windowing.hop - windowing.size
    params: dict[str, object] = {
        "since": since,
        "g": windowing.granularity,
        "min_severity": int(rule.match.min_severity),
    }
    where = ["{time} >= toDateTime({since:UInt32})", "SeverityNumber >= {min_severity:UInt8}"]
    if rule.match.template_id is not None:
        where.append("TemplateId = {template_id:UInt64}")
        params["template_id"] = rule.match.template_id
    if rule.match.needs_rows:
        source, time_column, count = "otel_logs", "TimestampTime", "count()"
        if rule.match.body_contains:
            where.append("position(Body, {contains:String}) > 0")
            params["contains"] = rule.match.body_contains
        if rule.match.body_regex:
            where.append("match(Body, {regex:String})")
            params["regex"] = rule.match.body_regex
        for i, (key, value) in enumerate(sorted(rule.match.attributes.items())):
            where.append(f"LogAttributes[{{k{i}:String}}] = {{v{i}:String}}")
            params[f"k{i}"], params[f"v{i}"] = key, value
    else:
        source, time_column, count = "log_window_counts", "WindowStart", "sum(Count)"
    sql = (
        f"SELECT ServiceName, SeverityNumber, TemplateId, "
        f"toUInt32(toStartOfInterval({time_column}, toIntervalSecond({{g:UInt32}}))) AS b, "
        f"{count} FROM {source} WHERE {' AND '.join(where).replace('{time}', time_column)} "
        "GROUP BY ServiceName, SeverityNumber, TemplateId, b"
    )
    rows = client.query(sql, parameters=params).result_rows
    return observe(
        rule,
        windowing,
        (
            (service, _severity_text(sev), f"{template:016x}", bucket, count)
            for service, sev, template, bucket, count in rows
        ),
    )


def _new_templates(client: Client, rule: AlertRule, size: int, now: float) -> Observation:
    seen = Observation()
    result = client.query(
        "SELECT ServiceName, TemplateId, any(Template), min(FirstStored) AS first, sum(Count), "
        "max(MaxSeverityNumber) AS severity, "
        "(SELECT min(FirstStored) FROM log_templates) AS learning_since "
        "FROM log_templates GROUP BY ServiceName, TemplateId "
        "HAVING first >= toDateTime({since:UInt32}) AND severity >= {min_severity:UInt8} "
        "AND learning_since <= toDateTime({learned:UInt32})",
        parameters={
            "since": int(now) - size,
            "min_severity": int(rule.match.min_severity),
            "learned": int(now) - LEARNING_WINDOWS * size,
        },
    ).result_rows
    for service, template_id, text, _first, count, severity, _ in result:
        if rule.match.matches_service(service):
            if rule.match.template_id is not None and template_id != rule.match.template_id:
                continue
            template = f"{template_id:016x}"
            group = group_of(rule, service, _severity_text(severity), template)
            seen.new_groups[group] = seen.new_groups.get(group, 0) + int(count)
            seen.template_texts[template] = text
    return seen


def _severity_text(number: int) -> str:
    try:
        return Severity(number).text or "UNSPECIFIED"
    except ValueError:
        return str(number)
