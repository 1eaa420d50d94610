"""`absence`: a group that logged in its baseline went silent for `windows` windows."""

from __future__ import annotations

from pipeline.alerting.conditions.absence import Absence
from pipeline.alerting.engine import Engine
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import counted

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W


def test_fires_for_a_service_that_went_silent():
    r = AlertRule(name="r", condition=Absence(windows=2, baseline_windows=3), window_seconds=W)
    engine = Engine(lateness=1, default_window=W)
    data = {T0 + i * W: 7 for i in range(3)}
    assert engine.evaluate(r, counted(data, W), T0 + 3 * W + 5) == []  # one silent window only
    (alert,) = engine.evaluate(r, counted(data, W), T0 + 5 * W + 1)
    assert alert.status == "firing"


def test_a_group_that_never_logged_is_not_absent():
    r = AlertRule(name="r", condition=Absence(windows=1, baseline_windows=2), window_seconds=W)
    assert Engine(lateness=0, default_window=W).evaluate(r, counted({}, W), T0 + 5 * W) == []


def test_reads_its_silent_and_baseline_windows_back():
    assert Absence(windows=3, baseline_windows=10).lookback() == (4, 10)
