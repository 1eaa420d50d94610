"""`absence`: a group that logged in its baseline went silent for `windows` windows, and
stays absent until it logs again."""

from __future__ import annotations

from pipeline.alerting.conditions.absence import Absence
from pipeline.alerting.engine import Engine, LastAlert, fingerprint
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import counted
from pipeline.alerting.windows import Observation

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W


def test_fires_for_a_service_that_went_silent():
    r = AlertRule(name="r", condition=Absence(windows=2, baseline_windows=3), window_seconds=W)
    engine = Engine(lateness=1, default_window=W)
    data = {T0 + i * W: 7 for i in range(3)}
    assert engine.evaluate(r, counted(data, W), T0 + 3 * W + 5) == []  # one silent window only
    (alert,) = engine.evaluate(r, counted(data, W), T0 + 5 * W + 1)
    assert alert.status == "firing"


def test_keeps_firing_while_silent_long_after_the_baseline_emptied_then_resolves_on_logs():
    r = AlertRule(
        name="r",
        condition=Absence(windows=2, baseline_windows=3),
        window_seconds=W,
        repeat_seconds=20 * W,
    )
    engine = Engine(lateness=1, default_window=W)
    data = {T0 + i * W: 7 for i in range(3)}
    (fired,) = engine.evaluate(r, counted(data, W), T0 + 5 * W + 1)
    assert fired.status == "firing"
    # Silent for 25 more windows: the baseline (3 windows) is long empty, and once no count of
    # the group is left within the rule's lookback, the query returns no row of it at all.
    raised = []
    for second in range(T0 + 5 * W + 2, T0 + 30 * W, W // 2):
        seen = counted(data, W) if second < T0 + 9 * W else Observation()
        raised += [(a.status, second) for a in engine.evaluate(r, seen, second)]
    # Still firing: only the repeat, `repeat_seconds` after the firing.
    assert raised == [("firing", T0 + 25 * W + 2)]
    # The group logs again: resolved once its quiet closed windows have passed.
    data[T0 + 30 * W] = 1
    assert engine.evaluate(r, counted(data, W), T0 + 31 * W + 2) == []
    (resolved,) = engine.evaluate(r, counted(data, W), T0 + 32 * W + 2)
    assert resolved.status == "resolved" and resolved.fingerprint == fired.fingerprint


def test_a_firing_absence_restored_after_a_restart_keeps_firing_with_no_counts_left():
    r = AlertRule(name="r", condition=Absence(windows=2, baseline_windows=3), window_seconds=W)
    engine = Engine(lateness=1, default_window=W)
    group = (("service", "api"),)
    stored = LastAlert("r", fingerprint("r", group), dict(group), "firing", T0, T0)
    assert engine.restore([stored]) == 1
    for second in range(T0 + 100 * W, T0 + 110 * W, W // 2):
        assert engine.evaluate(r, Observation(), second) == []


def test_a_group_that_never_logged_is_not_absent():
    r = AlertRule(name="r", condition=Absence(windows=1, baseline_windows=2), window_seconds=W)
    assert Engine(lateness=0, default_window=W).evaluate(r, counted({}, W), T0 + 5 * W) == []


def test_reads_its_silent_and_baseline_windows_back():
    assert Absence(windows=3, baseline_windows=10).lookback() == (4, 10)
