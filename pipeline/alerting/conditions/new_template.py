"""`new_template`: a message shape never stored before appeared.

It reads the templates table (each template's first stored time), not the window counts.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from clickhouse_connect.driver.client import Client

from pipeline.alerting import tables
from pipeline.alerting.conditions.base import Condition, register
from pipeline.alerting.counts import Query, severity_text, template_hex
from pipeline.alerting.match import GroupKey, group_of
from pipeline.alerting.windows import GroupCounts, Observation, Window

# A brand-new database has only new templates: none counts as new until it has learned this
# many windows of history.
LEARNING_WINDOWS = 10

_FIRST_STORED = f"""
SELECT ServiceName, TemplateId, any(Template), min(FirstStored) AS first, sum(Count),
       max(MaxSeverityNumber) AS severity,
       (SELECT min(FirstStored) FROM {tables.TEMPLATES}) AS learning_since
FROM {tables.TEMPLATES} GROUP BY ServiceName, TemplateId
HAVING first >= toDateTime({{since:UInt32}}) AND severity >= {{min_severity:UInt8}}
   AND learning_since <= toDateTime({{learned:UInt32}})
"""


@register
class NewTemplate(Condition):
    """A template never stored before appeared (grouped by template by definition)."""

    type: Literal["new_template"] = "new_template"
    requires_group_by: ClassVar[frozenset[GroupKey]] = frozenset({"template"})

    def holds(self, counts: GroupCounts, window: Window) -> bool:
        return counts.current(window) and counts.new

    def observe(self, client: Client, query: Query) -> Observation:
        """The groups whose template was first stored in the current window."""
        size, match = query.windowing.size, query.match
        seen = Observation()
        result = client.query(
            _FIRST_STORED,
            parameters={
                "since": int(query.now) - size,
                "min_severity": int(match.min_severity),
                "learned": int(query.now) - LEARNING_WINDOWS * size,
            },
        ).result_rows
        for service, template_id, text, _first, count, severity, _ in result:
            if not match.matches_service(service):
                continue
            if match.template_id is not None and template_id != match.template_id:
                continue
            template = template_hex(template_id)
            group = group_of(query.group_by, service, severity_text(severity), template)
            seen.new_groups[group] = seen.new_groups.get(group, 0) + int(count)
            seen.template_texts[template] = text
        return seen
