"""The rule engine: windowed counts per group in, firing/resolved alerts out. Pure logic.

Windows are on event time, aligned to multiples of the hop (tumbling: hop = size). The newest
window is still open; an older one is closed once its end plus the lateness allowance has
passed. Count conditions may fire on the open window (a count only grows), so a burst fires
within one evaluation interval of reaching ClickHouse; resolving looks at closed windows only.
"""

from __future__ import annotations

import hashlib
import math
import string
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.alerting import Absence, Alert, AlertRule, Burst, NewTemplate, Threshold

Group = tuple[tuple[str, str], ...]  # sorted (key, value) pairs, e.g. (("service", "api"),)


@dataclass(frozen=True, slots=True)
class Windowing:
    size: int
    hop: int
    lateness: float

    @property
    def granularity(self) -> int:
        """Bucket size that both the window size and the hop are multiples of."""
        return math.gcd(self.size, self.hop)

    def recent(self, now: float, count: int) -> list[tuple[int, int]]:
        """The `count` newest windows [start, end), oldest first; the last one is open."""
        newest = int(now // self.hop) * self.hop
        return [
            (s, s + self.size) for s in range(newest - (count - 1) * self.hop, newest + 1, self.hop)
        ]

    def closed(self, window: tuple[int, int], now: float) -> bool:
        return window[1] + self.lateness <= now


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
    # new_template rules: the groups whose template was first stored in the current window.
    new_groups: dict[Group, int] = field(default_factory=dict)
    template_texts: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class GroupState:
    fingerprint: str
    firing: bool = False
    starts_at: float = 0.0
    last_notified: float = 0.0
    resolved_at: float | None = None


def fingerprint(rule: str, group: Group) -> str:
    text = rule + "|" + "|".join(f"{k}={v}" for k, v in group)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Engine:
    """Keeps per-group alert state across evaluations (restorable from stored alerts)."""

    def __init__(self, lateness: float, default_window: int) -> None:
        self.lateness = lateness
        self.default_window = default_window
        self.states: dict[tuple[str, Group], GroupState] = {}

    def windowing(self, rule: AlertRule) -> Windowing:
        size = rule.window_seconds or self.default_window
        return Windowing(size, rule.hop_seconds or size, self.lateness)

    def lookback_windows(self, rule: AlertRule) -> int:
        """How many recent windows (of the rule's hop) an evaluation needs counts for."""
        windowing = self.windowing(rule)
        per_size = windowing.size // windowing.hop
        baseline = getattr(rule.condition, "baseline_windows", 0)
        recent = max(
            rule.of_windows,
            rule.resolve_after_windows + 1,
            getattr(rule.condition, "windows", 0) + 1,
        )
        return recent + (baseline + 1) * per_size

    def restore(self, rule: str, group: Group, state: GroupState) -> None:
        self.states[(rule, group)] = state

    def evaluate(self, rule: AlertRule, seen: Observation, now: float) -> list[Alert]:
        windowing = self.windowing(rule)
        # Enough windows for the trigger and for resolving, plus the ones still within lateness.
        extra = math.ceil((windowing.size + windowing.lateness) / windowing.hop)
        windows = windowing.recent(now, rule.of_windows + rule.resolve_after_windows + extra)
        closed = [windowing.closed(w, now) for w in windows]
        # A window is judged while it can still change (open, or within lateness) and once
        # more as the newest closed one: rows of a burst may reach ClickHouse after the
        # window they belong to has ended.
        newest_closed = max((i for i, c in enumerate(closed) if c), default=None)
        candidates = [i for i, c in enumerate(closed) if not c]
        if newest_closed is not None:
            candidates.append(newest_closed)
        groups = set(seen.series) | set(seen.new_groups)
        groups |= {g for (name, g), s in self.states.items() if name == rule.name and s.firing}
        alerts = []
        for group in sorted(groups):
            series = seen.series.get(group, Series())
            truths = [self._holds(rule, windowing, series, w, seen, group, now) for w in windows]
            fired_at = [
                i
                for i in candidates
                if sum(truths[max(0, i - rule.of_windows + 1) : i + 1]) >= rule.trigger_windows
            ]
            closed_truths = [t for t, c in zip(truths, closed, strict=True) if c]
            recent_closed = closed_truths[-rule.resolve_after_windows :]
            quiet = (
                not any(t for t, c in zip(truths, closed, strict=True) if not c)
                and len(recent_closed) == rule.resolve_after_windows
                and not any(recent_closed)
            )
            at = max(fired_at, key=lambda i: windows[i][0]) if fired_at else len(windows) - 1
            value = float(
                series.count(*windows[at], windowing.granularity) or seen.new_groups.get(group, 0)
            )
            alert = self._transition(
                rule, group, bool(fired_at), quiet, value, windows[at], seen, now
            )
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _holds(
        self,
        rule: AlertRule,
        windowing: Windowing,
        series: Series,
        window: tuple[int, int],
        seen: Observation,
        group: Group,
        now: float,
    ) -> bool:
        condition = rule.condition
        g = windowing.granularity
        if isinstance(condition, Threshold):
            return series.count(*window, g) >= condition.count
        if isinstance(condition, Burst):
            count = series.count(*window, g)
            if count < condition.min_count:
                return False
            size = windowing.size
            baseline = [
                series.count(window[0] - size * j, window[1] - size * j, g)
                for j in range(1, condition.baseline_windows + 1)
            ]
            return count >= condition.factor * (sum(baseline) / len(baseline))
        if isinstance(condition, NewTemplate):
            return window[0] <= now < window[1] and group in seen.new_groups
        if isinstance(condition, Absence):
            if not windowing.closed(window, now):
                return False
            size = windowing.size
            silent = all(
                series.count(window[0] - size * j, window[1] - size * j, g) == 0
                for j in range(condition.windows)
            )
            before = sum(
                series.count(window[0] - size * j, window[1] - size * j, g)
                for j in range(condition.windows, condition.windows + condition.baseline_windows)
            )
            return silent and before > 0
        raise TypeError(f"unknown condition {condition!r}")

    def _transition(
        self,
        rule: AlertRule,
        group: Group,
        fire: bool,
        quiet: bool,
        value: float,
        window: tuple[int, int],
        seen: Observation,
        now: float,
    ) -> Alert | None:
        key = (rule.name, group)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = GroupState(fingerprint(rule.name, group))
        if not state.firing:
            cooling = (
                state.resolved_at is not None and now - state.resolved_at < rule.cooldown_seconds
            )
            if fire and not cooling:
                state.firing, state.starts_at, state.last_notified = True, now, now
                return self._alert("firing", rule, group, state, value, window, seen, None)
            return None
        if quiet:
            state.firing, state.resolved_at = False, now
            return self._alert("resolved", rule, group, state, value, window, seen, now)
        if fire and now - state.last_notified >= rule.repeat_seconds:
            state.last_notified = now
            return self._alert("firing", rule, group, state, value, window, seen, None)
        return None

    @staticmethod
    def _alert(
        status: str,
        rule: AlertRule,
        group: Group,
        state: GroupState,
        value: float,
        window: tuple[int, int],
        seen: Observation,
        ended: float | None,
    ) -> Alert:
        values: dict[str, object] = {"rule": rule.name, "value": int(value), **dict(group)}
        template = dict(group).get("template")
        if template is not None:
            values["template_text"] = seen.template_texts.get(template, "")
        annotations = {k: _fill(v, values) for k, v in rule.annotations.items()}
        if rule.description:
            annotations.setdefault("description", rule.description)
        if template is not None:
            annotations.setdefault("template", str(values["template_text"]))
        summary = annotations.get("summary") or (
            f"{rule.name}: {', '.join(f'{k}={v}' for k, v in group) or 'all'} "
            f"({int(value)} in the window)"
        )
        return Alert(
            status=status,  # type: ignore[arg-type]
            rule=rule.name,
            fingerprint=state.fingerprint,
            group=dict(group),
            labels={"alertname": rule.name, **dict(group), **rule.labels},
            annotations=annotations,
            summary=summary,
            starts_at=_utc(state.starts_at),
            ends_at=_utc(ended) if ended is not None else None,
            value=value,
            window_start=_utc(window[0]),
            window_end=_utc(window[1]),
        )


def group_of(rule: AlertRule, service: str, severity: str, template: str) -> Group:
    values = {"service": service, "severity": severity, "template": template}
    return tuple(sorted((k, values[k]) for k in rule.group_by))


def observe(
    rule: AlertRule, windowing: Windowing, rows: Iterable[tuple[str, str, str, int, int]]
) -> Observation:
    """Fold (service, severity, template, bucket start, count) rows into per-group series."""
    seen = Observation()
    for service, severity, template, bucket, count in rows:
        if not rule.match.matches_service(service):
            continue
        group = group_of(rule, service, severity, template)
        series = seen.series.get(group)
        if series is None:
            series = seen.series[group] = Series()
        series.buckets[bucket - bucket % windowing.granularity] += count
    return seen


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, values: Mapping[str, object]) -> str:
    try:
        return string.Formatter().vformat(text, (), _Blank(values))
    except (ValueError, IndexError):
        return text


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
