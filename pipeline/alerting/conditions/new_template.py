"""`new_template`: a message shape never stored before appeared.

It reads the templates table (each template's first stored time), not the window counts, and
reads ids through their aliases: a template is new when none of the ids merged into it was
stored before (a worker that learnt an event under a second id has not found a new one).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from clickhouse_connect.driver.client import Client

from pipeline.alerting import tables
from pipeline.alerting.conditions.base import Condition, register
from pipeline.alerting.counts import Query, severity_text, template_hex
from pipeline.alerting.match import GroupKey, group_of
from pipeline.alerting.windows import GroupCounts, Observation, Window
from pipeline.enrich.store import WITH_CANONICAL, canonical_id, general_texts

# A brand-new database has only new templates: none counts as new until it has learned this
# many windows of history.
LEARNING_WINDOWS = 10

# A rule that names a template (`template_id`, 0: none) gets the id it named, whichever id of the
# template that is; other rules get each template's current id.
_NAMED = canonical_id("{template_id:UInt64}")
_FIRST_STORED = f"""{WITH_CANONICAL},
fresh AS (
    SELECT ServiceName, {canonical_id()} AS Canonical, any(Template) AS Text,
           min(FirstStored) AS first, sum(Count) AS count,
           max(MaxSeverityNumber) AS severity,
           (SELECT min(FirstStored) FROM {tables.TEMPLATES}) AS learning_since
    FROM {tables.TEMPLATES} GROUP BY ServiceName, Canonical
    HAVING first >= toDateTime({{since:UInt32}}) AND severity >= {{min_severity:UInt8}}
       AND learning_since <= toDateTime({{learned:UInt32}})
)
SELECT f.ServiceName,
       if({{template_id:UInt64}} != 0 AND f.Canonical = {_NAMED}, {{template_id:UInt64}},
          f.Canonical),
       if(g.Text = '', f.Text, g.Text), f.first, f.count, f.severity, f.learning_since
FROM fresh AS f
LEFT JOIN ({general_texts("SELECT Canonical FROM fresh")}) AS g ON g.Canonical = f.Canonical
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
                "template_id": match.template_id or 0,
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
