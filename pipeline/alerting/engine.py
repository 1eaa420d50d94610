"""The rule engine: windowed counts per group in, firing/resolved alerts out. Pure logic.

Count conditions may fire on the open window (a count only grows), so a burst fires within one
evaluation interval of reaching ClickHouse; resolving looks at closed windows only. What a
condition means is the condition's own (`conditions/`); the engine only asks it.
"""

from __future__ import annotations

import hashlib
import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pipeline.alerting.counts import Query
from pipeline.alerting.match import Group
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.windows import GroupCounts, Observation, Series, Window, Windowing
from schemas.alerting import Alert


@dataclass(slots=True)
class GroupState:
    fingerprint: str
    firing: bool = False
    starts_at: float = 0.0
    last_notified: float = 0.0
    resolved_at: float | None = None


class LastAlert(NamedTuple):
    """The newest stored alert of one group: what its state is restored from."""

    rule: str
    fingerprint: str
    group: Mapping[str, str]
    status: str
    starts_at: float  # Unix seconds
    at: float  # when it was recorded


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
        needs = rule.condition.lookback()
        recent = max(rule.of_windows, rule.resolve_after_windows + 1, needs.windows)
        return recent + (needs.baseline_windows + 1) * per_size

    def query(self, rule: AlertRule, now: float) -> Query:
        """What an evaluation of `rule` at `now` reads."""
        windowing = self.windowing(rule)
        since = int(now) - self.lookback_windows(rule) * windowing.hop - windowing.size
        firing = tuple(
            sorted(g for (name, g), s in self.states.items() if name == rule.name and s.firing)
        )
        return Query(rule.match, tuple(rule.group_by), windowing, since, now, firing)

    def restore(self, stored: Iterable[LastAlert]) -> int:
        """Each group's state from its newest stored alert, and only that: a change decided
        here but never recorded is forgotten, to be decided again. Returns how many fire."""
        self.states.clear()
        firing = 0
        for last in stored:
            state = GroupState(fingerprint=last.fingerprint)
            if last.status == "firing":
                state.firing, state.starts_at, state.last_notified = True, last.starts_at, last.at
                firing += 1
            else:
                state.resolved_at = last.at
            self.states[(last.rule, tuple(sorted(last.group.items())))] = state
        return firing

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
            counts = GroupCounts(group, seen.series.get(group, Series()), seen, windowing, now)
            state = self.states.get((rule.name, group))
            holds = (
                rule.condition.holds_while_firing
                if state is not None and state.firing
                else rule.condition.holds
            )
            truths = [holds(counts, w) for w in windows]
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
            value = float(counts.count(windows[at]) or seen.new_groups.get(group, 0))
            alert = self._transition(
                rule, group, bool(fired_at), quiet, value, windows[at], seen, now
            )
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _transition(
        self,
        rule: AlertRule,
        group: Group,
        fire: bool,
        quiet: bool,
        value: float,
        window: Window,
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
                return _alert("firing", rule, group, state, value, window, seen, None)
            return None
        if quiet:
            state.firing, state.resolved_at = False, now
            return _alert("resolved", rule, group, state, value, window, seen, now)
        if fire and now - state.last_notified >= rule.repeat_seconds:
            state.last_notified = now
            return _alert("firing", rule, group, state, value, window, seen, None)
        return None


def _alert(
    status: Literal["firing", "resolved"],
    rule: AlertRule,
    group: Group,
    state: GroupState,
    value: float,
    window: Window,
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
        status=status,
        rule=rule.name,
        fingerprint=state.fingerprint,
        group=dict(group),
        labels={"alertname": rule.name, **dict(group), **rule.labels},
        annotations=annotations,
        summary=summary,
        starts_at=_utc(state.starts_at),
        ends_at=_utc(ended) if ended is not None else None,
        notified_at=_utc(ended if ended is not None else state.last_notified),
        value=value,
        window_start=_utc(window[0]),
        window_end=_utc(window[1]),
    )


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
