"""`burst`: a window at `factor` × the average of the windows before it, and `min_count`."""

from __future__ import annotations

from pipeline.alerting.conditions.burst import Burst
from pipeline.alerting.engine import Engine
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import counted

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W


def test_needs_factor_over_baseline_and_min_count():
    r = AlertRule(
        name="r", condition=Burst(factor=3, min_count=10, baseline_windows=4), window_seconds=W
    )
    engine = Engine(lateness=2, default_window=W)
    base = {T0 + i * W: 5 for i in range(4)}
    now = T0 + 4 * W + 5
    assert engine.evaluate(r, counted({**base, T0 + 4 * W: 14}, W), now) == []  # < 3 × 5
    (alert,) = engine.evaluate(r, counted({**base, T0 + 4 * W: 15}, W), now)
    assert alert.value == 15
    quiet = Engine(lateness=2, default_window=W)
    assert quiet.evaluate(r, counted({T0 + 4 * W: 9}, W), now) == []  # baseline 0, < min_count


def test_reads_its_baseline_windows_back():
    assert Burst(baseline_windows=7).lookback() == (1, 7)
