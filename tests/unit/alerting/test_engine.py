"""The rule engine on hand-made counts: when it fires, repeats, resolves and keeps quiet.
(What each condition means is tested beside it, in conditions/.)"""

from __future__ import annotations

from pipeline.alerting.conditions.burst import Burst
from pipeline.alerting.conditions.threshold import Threshold
from pipeline.alerting.engine import Engine, LastAlert
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import counted
from pipeline.alerting.windows import Windowing

W = 10  # window seconds
T0 = 1_700_000_000 - 1_700_000_000 % W  # a window boundary


def rule(condition, **kw) -> AlertRule:
    return AlertRule(name="r", condition=condition, **{"window_seconds": W, **kw})


def test_windows_are_aligned_and_the_newest_is_open():
    w = Windowing(60, 10, 2)
    recent = w.recent(125.0, 3)
    assert recent == [(100, 160), (110, 170), (120, 180)]
    assert not w.closed((100, 160), 161) and w.closed((100, 160), 162)


def test_threshold_fires_once_in_the_open_window_then_resolves_after_quiet_windows():
    r = rule(Threshold(count=5), resolve_after_windows=2)
    engine = Engine(lateness=2, default_window=W)
    data = {T0 + 1: 3}
    assert engine.evaluate(r, counted(data, W), T0 + 2) == []
    data[T0 + 3] = 2
    (alert,) = engine.evaluate(r, counted(data, W), T0 + 4)
    assert (alert.status, alert.value, alert.group) == ("firing", 5, {"service": "api"})
    # Still in the window, still over: no second notification.
    assert engine.evaluate(r, counted(data, W), T0 + 6) == []
    # Two closed quiet windows later (plus lateness) it resolves, once.
    assert engine.evaluate(r, counted(data, W), T0 + 2 * W + 5) == []
    (resolved,) = engine.evaluate(r, counted(data, W), T0 + 3 * W + 2)
    assert resolved.status == "resolved" and resolved.fingerprint == alert.fingerprint
    assert engine.evaluate(r, counted(data, W), T0 + 3 * W + 3) == []


def test_cooldown_blocks_a_new_firing_and_repeat_renotifies():
    r = rule(
        Threshold(count=1),
        resolve_after_windows=1,
        cooldown_seconds=100,
        repeat_seconds=15,
    )
    engine = Engine(lateness=0, default_window=W)
    data = {T0: 1}
    assert engine.evaluate(r, counted(data, W), T0 + 1)[0].status == "firing"
    data[T0 + W] = 1
    data[T0 + 2 * W] = 1
    (again,) = engine.evaluate(r, counted(data, W), T0 + 2 * W + 1)  # still firing, 20 s later
    assert again.status == "firing"
    (resolved,) = engine.evaluate(r, counted(data, W), T0 + 4 * W)
    assert resolved.status == "resolved"
    data[T0 + 5 * W] = 3
    assert engine.evaluate(r, counted(data, W), T0 + 5 * W + 1) == []  # cooling down
    data[T0 + 14 * W] = 3
    assert engine.evaluate(r, counted(data, W), T0 + 14 * W + 1)[0].status == "firing"


def test_n_of_m_windows():
    r = rule(Threshold(count=2), trigger_windows=2, of_windows=3)
    engine = Engine(lateness=0, default_window=W)
    assert engine.evaluate(r, counted({T0: 2}, W), T0 + 2 * W + 1) == []
    assert len(engine.evaluate(r, counted({T0: 2, T0 + 2 * W: 2}, W), T0 + 2 * W + 1)) == 1


def test_a_burst_seen_only_after_its_window_ended_still_fires():
    # The rows reach ClickHouse after the window they belong to has ended.
    r = rule(Threshold(count=5))
    late = Engine(lateness=2, default_window=W)
    (alert,) = late.evaluate(r, counted({T0 + 9: 6}, W), T0 + W + 1)  # ended 1 s ago
    assert (alert.status, alert.value, alert.window_start.timestamp()) == ("firing", 6, T0)
    later = Engine(lateness=2, default_window=W)
    (alert,) = later.evaluate(r, counted({T0 + 9: 6}, W), T0 + W + 5)  # the newest closed one
    assert alert.status == "firing"
    older = Engine(lateness=2, default_window=W)
    assert older.evaluate(r, counted({T0 + 9: 6}, W), T0 + 3 * W) == []  # long gone: not news


def test_annotations_are_filled_and_the_summary_defaults_to_the_group_and_count():
    r = rule(Threshold(count=1), annotations={"summary": "{service}: {value} ({nope})"})
    (alert,) = Engine(0, W).evaluate(r, counted({T0: 3}, W), T0 + 1)
    assert alert.summary == "api: 3 ({nope})" and alert.labels == {
        "alertname": "r",
        "service": "api",
    }
    (plain,) = Engine(0, W).evaluate(rule(Threshold(count=1)), counted({T0: 3}, W), T0 + 1)
    assert plain.summary == "r: service=api (3 in the window)"


def test_restored_state_is_taken_up_where_another_worker_left_it():
    r = rule(Threshold(count=1), resolve_after_windows=1, cooldown_seconds=100)
    first = Engine(lateness=0, default_window=W)
    (fired,) = first.evaluate(r, counted({T0: 1}, W), T0 + 1)
    started = fired.starts_at.timestamp()
    stored = [LastAlert("r", fired.fingerprint, fired.group, "firing", started, T0 + 1)]
    second = Engine(lateness=0, default_window=W)
    assert second.restore(stored) == 1
    assert second.evaluate(r, counted({T0: 1}, W), T0 + 2) == []  # firing already
    (resolved,) = second.evaluate(r, counted({T0: 1}, W), T0 + 2 * W)
    assert resolved.status == "resolved" and resolved.starts_at == fired.starts_at
    third = Engine(lateness=0, default_window=W)
    third.restore([stored[0]._replace(status="resolved", at=T0 + 2 * W)])
    assert third.evaluate(r, counted({T0 + 3 * W: 5}, W), T0 + 3 * W + 1) == []  # cooling down


def test_the_query_names_the_groups_that_fire():
    """Their template texts are read even when they have no rows (see counts.Query.firing)."""
    r = rule(Threshold(count=1))
    engine = Engine(lateness=0, default_window=W)
    assert engine.query(r, T0).firing == ()
    (fired,) = engine.evaluate(r, counted({T0: 1}, W), T0 + 1)
    assert engine.query(r, T0 + 1).firing == (tuple(sorted(fired.group.items())),)
    other = AlertRule(name="other", condition=Threshold(count=1), window_seconds=W)
    assert engine.query(other, T0 + 1).firing == ()


def test_the_lookback_covers_what_the_condition_reads():
    engine = Engine(lateness=2, default_window=W)
    assert engine.lookback_windows(rule(Threshold(count=1))) == 3 + 1
    burst = rule(Burst(baseline_windows=4), window_seconds=60, hop_seconds=10)
    assert engine.lookback_windows(burst) == 3 + 5 * 6
    query = engine.query(burst, T0 + 0.5)
    assert query.since == T0 - 33 * 10 - 60 and query.windowing.granularity == 10
