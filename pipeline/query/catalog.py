"""The shipped reports: named, parameterized ClickHouse SQL that `logweir query NAME` runs.

Every value a user gives reaches ClickHouse as a server-side query parameter ({name:Type});
the fragments below are fixed SQL composed once at import, never user text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.enrich.store import WITH_CANONICAL, canonical_id, general_texts

_PLACEHOLDER = re.compile(r"\{(\w+):(\w+)\}")
_IN_RANGE = "TimestampTime >= {since:DateTime} AND TimestampTime <= {until:DateTime}"
_MINUTES_IN_RANGE = "Minute >= toStartOfMinute({since:DateTime}) AND Minute <= {until:DateTime}"
_SERVICE = "({service:String} = '' OR ServiceName = {service:String})"
_ERROR = "SeverityNumber >= 17"

# Request time in milliseconds from the attributes parsers and common loggers emit: OTel's
# http.server.request.duration (seconds, from access logs), JSON `duration_ms` styles, and
# logfmt `duration=12ms` / `duration=1.5s`. NULL when a row has none of them.
_DURATION_MS = """multiIf(
    mapContains(LogAttributes, 'http.server.request.duration'),
        toFloat64OrNull(LogAttributes['http.server.request.duration']) * 1000,
    mapContains(LogAttributes, 'http.duration_ms'),
        toFloat64OrNull(LogAttributes['http.duration_ms']),
    mapContains(LogAttributes, 'duration_ms'), toFloat64OrNull(LogAttributes['duration_ms']),
    endsWith(LogAttributes['duration'], 'ms'),
        toFloat64OrNull(replaceOne(LogAttributes['duration'], 'ms', '')),
    endsWith(LogAttributes['duration'], 's'),
        toFloat64OrNull(replaceOne(LogAttributes['duration'], 's', '')) * 1000,
    NULL)"""
# What a request or job did: method and path with numeric ids folded (/items/8812 → /items/:id),
# else a route, logger or, last, the message template.
_OPERATION = """trimBoth(concat(
    arrayFirst(x -> x != '',
               [LogAttributes['http.request.method'], LogAttributes['http.method'], '']),
    ' ',
    arrayFirst(x -> x != '', [
        replaceRegexpAll(LogAttributes['url.path'], '/[0-9]+(/|$)', '/:id\\\\1'),
        LogAttributes['http.route'], ScopeName, substring(Template, 1, 80)])))"""
_STATUS = (
    "arrayFirst(x -> x != '', [LogAttributes['http.response.status_code'], "
    "LogAttributes['http.status'], ''])"
)
# The acting user under the attribute names OTel (user.id, enduser.id) and loggers use.
_USER = (
    "arrayFirst(x -> x != '', [LogAttributes['user.id'], LogAttributes['enduser.id'], "
    "LogAttributes['user.name'], LogAttributes['user_id'], LogAttributes['userId'], ''])"
)

_TIMED_ROWS = f"""SELECT Timestamp, ServiceName, {_OPERATION} AS operation,
    {_DURATION_MS} AS duration_ms, {_STATUS} AS status, TraceId, Body
FROM otel_logs WHERE {_IN_RANGE} AND {_SERVICE}"""
_USER_ROWS = f"""SELECT ServiceName, SeverityNumber, Timestamp, {_USER} AS user
FROM otel_logs WHERE {_IN_RANGE} AND {_SERVICE}"""

# Columns `top` may group by: real otel_logs columns, passed as an Identifier parameter.
TOP_COLUMNS = (
    "ServiceName",
    "SeverityText",
    "SeverityNumber",
    "LogFormat",
    "ScopeName",
    "TemplateId",
    "Template",
    "Body",
    "TraceId",
    "EventName",
    "KafkaTopic",
    "KafkaPartition",
)


# The `top` column's value; a template's rows may carry several ids (one per worker that saw
# it first): the current one of each stands for them all, as in every other template report.
_TOP_VALUE = (
    f"if({{by:String}} = 'TemplateId', toString({canonical_id()}), toString({{by:Identifier}}))"
)


def _top_values(value: str, where: str = "1") -> str:
    """The most frequent values of the SQL expression `value` in the range, with their share
    and errors (fixed SQL: `value` and `where` are fragments of this module, never user text)."""
    return f"""SELECT {value} AS value, count() AS rows,
    round(100 * rows / sum(rows) OVER (), 2) AS pct, countIf({_ERROR}) AS errors
FROM otel_logs WHERE {_IN_RANGE} AND {_SERVICE} AND {where}
GROUP BY value ORDER BY rows DESC, value
LIMIT {{limit:UInt32}}"""


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    description: str
    sql: str
    columns: tuple[str, ...]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The server-side parameters the SQL takes, in order of first use."""
        return tuple(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(self.sql)))


REPORTS: tuple[Report, ...] = (
    Report(
        "errors",
        "Errors per service: total, unique (by template), share of all rows, first and last.",
        f"""{WITH_CANONICAL}
SELECT if(grouping(ServiceName) = 1, '(all)', ServiceName) AS service,
    count() AS rows, countIf({_ERROR}) AS errors,
    round(100 * errors / rows, 2) AS error_pct,
    uniqExactIf({canonical_id()}, {_ERROR}) AS unique_errors,
    minIf(Timestamp, {_ERROR}) AS first_error, maxIf(Timestamp, {_ERROR}) AS last_error
FROM otel_logs WHERE {_IN_RANGE} AND {_SERVICE}
GROUP BY ServiceName WITH ROLLUP
ORDER BY grouping(ServiceName), errors DESC""",
        ("service", "rows", "errors", "error_pct", "unique_errors", "first_error", "last_error"),
    ),
    Report(
        "error-templates",
        "Top error templates in the range, with when each was first and last seen ever (ids "
        "that were merged into one template count as it).",
        f"""{WITH_CANONICAL},
c AS (
    SELECT ServiceName, {canonical_id()} AS Canonical, sum(Count) AS errors
    FROM log_window_counts
    WHERE WindowStart >= {{since:DateTime}} AND WindowStart <= {{until:DateTime}}
      AND {_ERROR} AND {_SERVICE}
    GROUP BY ServiceName, Canonical
)
SELECT c.ServiceName AS service, c.Canonical AS template_id,
    if(g.Text = '', t.Text, g.Text) AS template, c.errors AS errors,
    t.FirstSeen AS first_seen, t.LastSeen AS last_seen, t.SampleBody AS sample
FROM c
LEFT JOIN (
    SELECT ServiceName, {canonical_id()} AS Canonical, any(Template) AS Text,
        min(FirstSeen) AS FirstSeen, max(LastSeen) AS LastSeen, any(SampleBody) AS SampleBody
    FROM log_error_templates WHERE {_SERVICE}
    GROUP BY ServiceName, Canonical
) AS t ON c.ServiceName = t.ServiceName AND c.Canonical = t.Canonical
LEFT JOIN ({general_texts("SELECT Canonical FROM c")}) AS g ON g.Canonical = c.Canonical
ORDER BY errors DESC, service, template_id
LIMIT {{limit:UInt32}}""",
        ("service", "template_id", "template", "errors", "first_seen", "last_seen", "sample"),
    ),
    Report(
        "error-trend",
        "Rows and errors per time bucket (--step, automatic by default), with the error share.",
        f"""SELECT toStartOfInterval(Minute, toIntervalSecond({{step:UInt32}})) AS time,
    sum(Count) AS rows, sumIf(Count, {_ERROR}) AS errors,
    round(100 * errors / rows, 2) AS error_pct
FROM log_minute_counts WHERE {_MINUTES_IN_RANGE} AND {_SERVICE}
GROUP BY time ORDER BY time""",
        ("time", "rows", "errors", "error_pct"),
    ),
    Report(
        "error-bursts",
        "Minutes where a service logged at least 10 errors and 3x its average per minute over "
        "the range.",
        f"""SELECT minute, service, errors, round(baseline, 2) AS baseline,
    round(errors / greatest(baseline, 0.01), 1) AS factor
FROM (
    SELECT Minute AS minute, ServiceName AS service, sum(Count) AS errors,
        sum(errors) OVER (PARTITION BY service)
            / greatest(1, dateDiff('minute', toStartOfMinute({{since:DateTime}}),
                                   {{until:DateTime}})) AS baseline
    FROM log_minute_counts WHERE {_MINUTES_IN_RANGE} AND {_ERROR} AND {_SERVICE}
    GROUP BY minute, service
)
WHERE errors >= 10 AND errors >= 3 * baseline
ORDER BY minute DESC, errors DESC
LIMIT {{limit:UInt32}}""",
        ("minute", "service", "errors", "baseline", "factor"),
    ),
    Report(
        "performance",
        "Request/operation durations by service and endpoint: avg, p50, p95, p99, max (ms).",
        f"""SELECT ServiceName AS service, operation, count() AS requests,
    round(avg(duration_ms), 1) AS avg_ms,
    round(quantile(0.5)(duration_ms), 1) AS p50_ms,
    round(quantile(0.95)(duration_ms), 1) AS p95_ms,
    round(quantile(0.99)(duration_ms), 1) AS p99_ms,
    round(max(duration_ms), 1) AS max_ms
FROM ({_TIMED_ROWS}) WHERE duration_ms IS NOT NULL
GROUP BY service, operation
ORDER BY p95_ms DESC, requests DESC
LIMIT {{limit:UInt32}}""",
        ("service", "operation", "requests", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"),
    ),
    Report(
        "slowest",
        "The slowest single requests/operations, with status and trace id.",
        f"""SELECT Timestamp AS time, ServiceName AS service, operation,
    round(duration_ms, 1) AS duration_ms, status, TraceId AS trace_id,
    substring(Body, 1, 200) AS body
FROM ({_TIMED_ROWS}) WHERE duration_ms IS NOT NULL
ORDER BY duration_ms DESC, time DESC
LIMIT {{limit:UInt32}}""",
        ("time", "service", "operation", "duration_ms", "status", "trace_id", "body"),
    ),
    Report(
        "http",
        "HTTP access logs by service and status class: requests, mean and p50/p95/p99 (ms).",
        f"""SELECT ServiceName AS service, StatusClass AS status_class, sum(Requests) AS requests,
    if(sum(TimedRequests) = 0, NULL, round(1000 * sum(DurationSum) / sum(TimedRequests), 1))
        AS avg_ms,
    if(sum(TimedRequests) = 0, NULL,
       round(1000 * quantilesMerge(0.5, 0.95, 0.99)(Duration)[1], 1)) AS p50_ms,
    if(sum(TimedRequests) = 0, NULL,
       round(1000 * quantilesMerge(0.5, 0.95, 0.99)(Duration)[2], 1)) AS p95_ms,
    if(sum(TimedRequests) = 0, NULL,
       round(1000 * quantilesMerge(0.5, 0.95, 0.99)(Duration)[3], 1)) AS p99_ms
FROM http_request_stats WHERE {_MINUTES_IN_RANGE} AND {_SERVICE}
GROUP BY service, status_class
ORDER BY service, status_class""",
        ("service", "status_class", "requests", "avg_ms", "p50_ms", "p95_ms", "p99_ms"),
    ),
    Report(
        "users",
        "Most active users (user.id, enduser.id, user.name …): actions, errors, first and last.",
        f"""SELECT user, count() AS actions, countIf({_ERROR}) AS errors,
    uniqExact(ServiceName) AS services, min(Timestamp) AS first_seen,
    max(Timestamp) AS last_seen
FROM ({_USER_ROWS}) WHERE user != ''
GROUP BY user ORDER BY actions DESC, user
LIMIT {{limit:UInt32}}""",
        ("user", "actions", "errors", "services", "first_seen", "last_seen"),
    ),
    Report(
        "user-summary",
        "Unique users and actions per user, by service and overall.",
        f"""SELECT if(grouping(ServiceName) = 1, '(all)', ServiceName) AS service,
    uniqExact(user) AS users, count() AS actions,
    round(actions / users, 2) AS actions_per_user
FROM ({_USER_ROWS}) WHERE user != ''
GROUP BY ServiceName WITH ROLLUP
ORDER BY grouping(ServiceName), actions DESC""",
        ("service", "users", "actions", "actions_per_user"),
    ),
    Report(
        "top",
        f"Top values of a column (--by, one of {', '.join(TOP_COLUMNS)}): rows, share, errors.",
        f"{WITH_CANONICAL}\n{_top_values(_TOP_VALUE)}",
        ("value", "rows", "pct", "errors"),
    ),
    Report(
        "top-attribute",
        "Top values of one LogAttributes key (--attribute, e.g. url.path): rows, share, errors.",
        _top_values(
            "LogAttributes[{attribute:String}]", "mapContains(LogAttributes, {attribute:String})"
        ),
        ("value", "rows", "pct", "errors"),
    ),
    Report(
        "severity",
        "Severity histogram over time: rows per bucket (--step) and level.",
        f"""SELECT toStartOfInterval(Minute, toIntervalSecond({{step:UInt32}})) AS time,
    sumIf(Count, SeverityNumber BETWEEN 1 AND 4) AS trace,
    sumIf(Count, SeverityNumber BETWEEN 5 AND 8) AS debug,
    sumIf(Count, SeverityNumber BETWEEN 9 AND 12) AS info,
    sumIf(Count, SeverityNumber BETWEEN 13 AND 16) AS warn,
    sumIf(Count, SeverityNumber BETWEEN 17 AND 20) AS error,
    sumIf(Count, SeverityNumber >= 21) AS fatal,
    sumIf(Count, SeverityNumber = 0) AS unspecified,
    sum(Count) AS total
FROM log_minute_counts WHERE {_MINUTES_IN_RANGE} AND {_SERVICE}
GROUP BY time ORDER BY time""",
        ("time", "trace", "debug", "info", "warn", "error", "fatal", "unspecified", "total"),
    ),
)
