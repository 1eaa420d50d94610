"""`absence`: a group that logged in its baseline went silent."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.alerting.conditions.base import Condition, Lookback, register
from pipeline.alerting.windows import GroupCounts, Window


@register
class Absence(Condition):
    """A group that logged in the baseline windows logged nothing for `windows` windows."""

    type: Literal["absence"] = "absence"
    windows: int = Field(3, ge=1)
    baseline_windows: int = Field(10, ge=1, le=1000)

    def holds(self, counts: GroupCounts, window: Window) -> bool:
        if not counts.closed(window):
            return False
        silent = all(counts.count(window, back=j) == 0 for j in range(self.windows))
        before = sum(
            counts.count(window, back=j)
            for j in range(self.windows, self.windows + self.baseline_windows)
        )
        return silent and before > 0

    def lookback(self) -> Lookback:
        return Lookback(self.windows + 1, self.baseline_windows)
