"""The rule engine on hand-made counts: when it fires, repeats, resolves and keeps quiet."""

from __future__ import annotations

from pipeline.alerting.engine import Engine, Observation, Series, Windowing, observe
from schemas.alerting import Absence, AlertRule, Burst, NewTemplate, Threshold

W = 10  # window seconds
T0 = 1_700_000_000 - 1_700_000_000 % W  # a window boundary


def rule(condition, **kw) -> AlertRule:
    return AlertRule(name="r", condition=condition, window_seconds=W, **kw)


def seen(points: dict[int, int], group=(("service", "api"),)) -> Observation:
    series = Series()
    for second, count in points.items():
        series.buckets[second - second % W] += count
    return Observation(series={group: series})


def test_windows_are_aligned_and_the_newest_is_open():
    w = Windowing(60, 10, 2)
    recent = w.recent(125.0, 3)
    assert recent == [(100, 160), (110, 170), (120, 180)]
    assert not w.closed((100, 160), 161) and w.closed((100, 160), 162)


def test_threshold_fires_once_in_the_open_window_then_resolves_after_quiet_windows():
    r = rule(Threshold(type="threshold", count=5), resolve_after_windows=2)
    engine = Engine(lateness=2, default_window=W)
    data = {T0 + 1: 3}
    assert engine.evaluate(r, seen(data), T0 + 2) == []
    data[T0 + 3] = 2
    (alert,) = engine.evaluate(r, seen(data), T0 + 4)
    assert (alert.status, alert.value, alert.group) == ("firing", 5, {"service": "api"})
    # Still in the window, still over: no second notification.
    assert engine.evaluate(r, seen(data), T0 + 6) == []
    # Two closed quiet windows later (plus lateness) it resolves, once.
    assert engine.evaluate(r, seen(data), T0 + 2 * W + 5) == []
    (resolved,) = engine.evaluate(r, seen(data), T0 + 3 * W + 2)
    assert resolved.status == "resolved" and resolved.fingerprint == alert.fingerprint
    assert engine.evaluate(r, seen(data), T0 + 3 * W + 3) == []


def test_under_threshold_never_fires():
    r = rule(Threshold(type="threshold", count=5))
    engine = Engine(lateness=2, default_window=W)
    data = {T0 + i * W: 4 for i in range(10)}
    assert all(engine.evaluate(r, seen(data), T0 + i * W + 5) == [] for i in range(10))


def test_cooldown_blocks_a_new_firing_and_repeat_renotifies():
    r = rule(
        Threshold(type="threshold", count=1),
        resolve_after_windows=1,
        cooldown_seconds=100,
        repeat_seconds=15,
    )
    engine = Engine(lateness=0, default_window=W)
    data = {T0: 1}
    assert engine.evaluate(r, seen(data), T0 + 1)[0].status == "firing"
    data[T0 + W] = 1
    data[T0 + 2 * W] = 1
    (again,) = engine.evaluate(r, seen(data), T0 + 2 * W + 1)  # still firing, 20 s later
    assert again.status == "firing"
    (resolved,) = engine.evaluate(r, seen(data), T0 + 4 * W)
    assert resolved.status == "resolved"
    data[T0 + 5 * W] = 3
    assert engine.evaluate(r, seen(data), T0 + 5 * W + 1) == []  # cooling down
    data[T0 + 14 * W] = 3
    assert engine.evaluate(r, seen(data), T0 + 14 * W + 1)[0].status == "firing"


def test_burst_needs_factor_over_baseline_and_min_count():
    r = rule(Burst(type="burst", factor=3, min_count=10, baseline_windows=4))
    engine = Engine(lateness=2, default_window=W)
    base = {T0 + i * W: 5 for i in range(4)}
    now = T0 + 4 * W + 5
    assert engine.evaluate(r, seen({**base, T0 + 4 * W: 14}), now) == []  # < 3 × 5
    (alert,) = engine.evaluate(r, seen({**base, T0 + 4 * W: 15}), now)
    assert alert.value == 15
    quiet = Engine(lateness=2, default_window=W)
    assert quiet.evaluate(r, seen({T0 + 4 * W: 9}), now) == []  # baseline 0 but < min_count


def test_n_of_m_windows():
    r = rule(Threshold(type="threshold", count=2), trigger_windows=2, of_windows=3)
    engine = Engine(lateness=0, default_window=W)
    assert engine.evaluate(r, seen({T0: 2}), T0 + 2 * W + 1) == []
    assert len(engine.evaluate(r, seen({T0: 2, T0 + 2 * W: 2}), T0 + 2 * W + 1)) == 1


def test_absence_fires_for_a_service_that_went_silent():
    r = rule(Absence(type="absence", windows=2, baseline_windows=3))
    engine = Engine(lateness=1, default_window=W)
    data = {T0 + i * W: 7 for i in range(3)}
    assert engine.evaluate(r, seen(data), T0 + 3 * W + 5) == []  # one silent window only
    (alert,) = engine.evaluate(r, seen(data), T0 + 5 * W + 1)
    assert alert.status == "firing"


def test_new_template_fires_per_template_group():
    r = rule(NewTemplate(type="new_template"), group_by=["service", "template"])
    engine = Engine(lateness=1, default_window=W)
    group = (("service", "api"), ("template", "00000000000000ff"))
    obs = Observation(new_groups={group: 3}, template_texts={"00000000000000ff": "boom <num>"})
    (alert,) = engine.evaluate(r, obs, T0 + 1)
    assert alert.annotations["template"] == "boom <num>"


def test_observe_groups_and_filters_services():
    r = rule(Threshold(type="threshold", count=1), group_by=["severity"])
    r = r.model_copy(update={"match": r.match.model_copy(update={"services": ["api*"]})})
    obs = observe(
        r,
        Windowing(W, W, 0),
        [
            ("api", "ERROR", "a", T0 + 1, 2),
            ("api-2", "ERROR", "b", T0 + 3, 1),
            ("web", "ERROR", "a", T0 + 1, 50),
            ("api", "INFO", "a", T0 + 1, 4),
        ],
    )
    assert {g: s.count(T0, T0 + W, W) for g, s in obs.series.items()} == {
        (("severity", "ERROR"),): 3,
        (("severity", "INFO"),): 4,
    }


def test_a_burst_seen_only_after_its_window_ended_still_fires():
    # The rows reach ClickHouse after the window they belong to has ended.
    r = rule(Threshold(type="threshold", count=5))
    late = Engine(lateness=2, default_window=W)
    (alert,) = late.evaluate(r, seen({T0 + 9: 6}), T0 + W + 1)  # ended 1 s ago, within lateness
    assert (alert.status, alert.value, alert.window_start.timestamp()) == ("firing", 6, T0)
    later = Engine(lateness=2, default_window=W)
    (alert,) = later.evaluate(r, seen({T0 + 9: 6}), T0 + W + 5)  # now the newest closed one
    assert alert.status == "firing"
    older = Engine(lateness=2, default_window=W)
    assert older.evaluate(r, seen({T0 + 9: 6}), T0 + 3 * W) == []  # long gone: not news
