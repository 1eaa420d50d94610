"""Event-time windows and what a rule sees of them: counts per group in buckets.

Windows are aligned to multiples of the hop (tumbling: hop = size). The newest window is still
open; an older one is closed once its end plus the lateness allowance has passed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.alerting.match import Group

Window = tuple[int, int]  # [start, end) in Unix seconds


@dataclass(frozen=True, slots=True)
class Windowing:
    """One rule's windows: `size` seconds long, one starting every `hop` seconds, closed
    `lateness` seconds after their end."""

    size: int
    hop: int
    lateness: float

    def closed(self, window: Window, now: float) -> bool:
        return window[1] + self.lateness <= now

    def recent(self, now: float, count: int) -> list[Window]:
        """The `count` newest windows [start, end), oldest first; the last one is open."""
        newest = int(now // self.hop) * self.hop
        return [
            (s, s + self.size) for s in range(newest - (count - 1) * self.hop, newest + 1, self.hop)
        ]

    @property
    def granularity(self) -> int:
        """Bucket size that both the window size and the hop are multiples of."""
        return math.gcd(self.size, self.hop)


@dataclass(slots=True)
class Series:
    """Counts of one group in buckets of `granularity` seconds, keyed by bucket start."""

    buckets: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def count(self, start: int, end: int, granularity: int) -> int:
        return sum(self.buckets.get(b, 0) for b in range(start, end, granularity))


@dataclass(slots=True)
class Observation:
    """What a rule sees at one evaluation: per group, its counts (and, for templates, text)."""

    series: dict[Group, Series] = field(default_factory=dict)
    # Groups that appeared for the first time in the current window, with their counts.
    new_groups: dict[Group, int] = field(default_factory=dict)
    template_texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """One group's counts at one evaluation: what a condition judges a window by."""

    group: Group
    series: Series
    seen: Observation
    windowing: Windowing
    now: float

    def count(self, window: Window, back: int = 0) -> int:
        """Records in `window`, or in the window `back` window sizes before it."""
        shift = self.windowing.size * back
        return self.series.count(window[0] - shift, window[1] - shift, self.windowing.granularity)

    def closed(self, window: Window) -> bool:
        return self.windowing.closed(window, self.now)

    def current(self, window: Window) -> bool:
        """Whether `window` holds the evaluation time."""
        return window[0] <= self.now < window[1]

    @property
    def new(self) -> bool:
        """Whether the group appeared for the first time in the current window."""
        return self.group in self.seen.new_groups
