"""`threshold`: at least `count` matching records in one window."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.alerting.conditions.base import Condition, register
from pipeline.alerting.windows import GroupCounts, Window


@register
class Threshold(Condition):
    """At least `count` matching records in one window."""

    type: Literal["threshold"] = "threshold"
    count: int = Field(ge=1)

    def holds(self, counts: GroupCounts, window: Window) -> bool:
        return counts.count(window) >= self.count
