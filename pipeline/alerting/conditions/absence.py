"""`absence`: a group that logged in its baseline went silent, until it logs again."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.alerting.conditions.base import Condition, Lookback, register
from pipeline.alerting.windows import GroupCounts, Window


@register
class Absence(Condition):
    """A group that logged in the baseline windows logged nothing for `windows` windows; once
    firing, it fires until the group logs again."""

    type: Literal["absence"] = "absence"
    windows: int = Field(3, ge=1)
    baseline_windows: int = Field(10, ge=1, le=1000)

    def holds(self, counts: GroupCounts, window: Window) -> bool:
        before = sum(
            counts.count(window, back=j)
            for j in range(self.windows, self.windows + self.baseline_windows)
        )
        return self._silent(counts, window) and before > 0

    def holds_while_firing(self, counts: GroupCounts, window: Window) -> bool:
        # The baseline only tells a silence from a group that never logged; a silence longer
        # than windows + baseline windows empties it, and the service is no less silent for
        # that. (The engine keeps a firing group even once no count of it is left to read.)
        return self._silent(counts, window)

    def lookback(self) -> Lookback:
        return Lookback(self.windows + 1, self.baseline_windows)

    def _silent(self, counts: GroupCounts, window: Window) -> bool:
        """Closed, and the group logged nothing in it nor in the `windows` - 1 before it."""
        return counts.closed(window) and all(
            counts.count(window, back=j) == 0 for j in range(self.windows)
        )
