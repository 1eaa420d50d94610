"""`burst`: a window's count at least `factor` × the average of the windows before it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.alerting.conditions.base import Condition, Lookback, register
from pipeline.alerting.windows import GroupCounts, Window


@register
class Burst(Condition):
    """At least `factor` × the average of the previous windows, and at least `min_count`."""

    type: Literal["burst"] = "burst"
    factor: float = Field(5.0, gt=1)
    min_count: int = Field(20, ge=1)
    baseline_windows: int = Field(10, ge=1, le=1000)

    def holds(self, counts: GroupCounts, window: Window) -> bool:
        count = counts.count(window)
        if count < self.min_count:
            return False
        baseline = [counts.count(window, back=j) for j in range(1, self.baseline_windows + 1)]
        return count >= self.factor * (sum(baseline) / len(baseline))

    def lookback(self) -> Lookback:
        return Lookback(baseline_windows=self.baseline_windows)
