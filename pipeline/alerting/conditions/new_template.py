"""`new_template`: a message shape never stored before appeared.

It reads the templates table (each template's first stored time), not the window counts, and
reads ids through their aliases: a template is new when none of the ids merged into it was
stored before (a worker that learnt an event under a second id has not found a new one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Self

from clickhouse_connect.driver.client import Client
from pydantic import Field

from pipeline.alerting import tables
from pipeline.alerting.conditions.base import Condition, register
from pipeline.alerting.counts import Query, severity_text, template_hex
from pipeline.alerting.match import GroupKey, group_of
from pipeline.alerting.windows import GroupCounts, Observation, Window
from pipeline.enrich.store import WITH_CANONICAL, canonical_id, general_texts

# The templates first stored since the oldest window any new_template rule looks at, read once
# for all of them (each rule's window, severity and learning period are applied per rule). A
# rule that names a template (`template_id`) gets the id it named, whichever id of the template
# that is: `Named` lists the named ids that stand for the row's template. Other rules get each
# template's current id.
_FIRST_STORED = f"""{WITH_CANONICAL},
fresh AS (
    SELECT ServiceName, {canonical_id()} AS Canonical, any(Template) AS Text,
           min(FirstStored) AS first, sum(Count) AS count,
           max(MaxSeverityNumber) AS severity
    FROM {tables.TEMPLATES} GROUP BY ServiceName, Canonical
    HAVING first >= toDateTime({{since:UInt32}}) AND severity >= {{min_severity:UInt8}}
)
SELECT f.ServiceName, f.Canonical,
       arrayFilter(t -> {canonical_id("t")} = f.Canonical, {{named:Array(UInt64)}}) AS Named,
       if(g.Text = '', f.Text, g.Text), toUInt32(f.first), f.count, f.severity,
       toUInt32((SELECT min(FirstStored) FROM {tables.TEMPLATES}))
FROM fresh AS f
LEFT JOIN ({general_texts("SELECT Canonical FROM fresh")}) AS g ON g.Canonical = f.Canonical
"""


@register
class NewTemplate(Condition):
    """A template never stored before appeared (grouped by template by definition), once the
    templates table holds `learning_windows` windows of history."""

    type: Literal["new_template"] = "new_template"
    requires_group_by: ClassVar[frozenset[GroupKey]] = frozenset({"template"})
    # A brand-new database has only new templates: none counts as new until this many of the
    # rule's windows have passed since the first template was ever stored.
    learning_windows: int = Field(10, ge=0)

    def holds(self, counts: GroupCounts, window: Window) -> bool:
        return counts.current(window) and counts.new

    @classmethod
    def observe(cls, client: Client, reads: Sequence[tuple[Self, Query]]) -> list[Observation]:
        """The groups whose template was first stored in each rule's current window."""
        named = sorted({q.match.template_id for _, q in reads if q.match.template_id is not None})
        rows = client.query(
            _FIRST_STORED,
            parameters={
                "since": min(int(q.now) - q.windowing.size for _, q in reads),
                "min_severity": min(int(q.match.min_severity) for _, q in reads),
                "named": named,
            },
        ).result_rows
        return [condition.new_templates(query, rows) for condition, query in reads]

    def new_templates(self, query: Query, rows: Sequence[Sequence[Any]]) -> Observation:
        """What one rule sees of the templates first stored (rows of `_FIRST_STORED`)."""
        size, match = query.windowing.size, query.match
        since, learned = int(query.now) - size, int(query.now) - self.learning_windows * size
        seen = Observation()
        for service, canonical, named, text, first, count, severity, learning_since in rows:
            if first < since or severity < match.min_severity or learning_since > learned:
                continue
            if not match.matches_service(service):
                continue
            if match.template_id is not None and match.template_id not in named:
                continue
            template = template_hex(canonical if match.template_id is None else match.template_id)
            group = group_of(query.group_by, service, severity_text(severity), template)
            seen.new_groups[group] = seen.new_groups.get(group, 0) + int(count)
            seen.template_texts[template] = text
        return seen
