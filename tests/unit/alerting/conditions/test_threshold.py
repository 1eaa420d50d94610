"""`threshold`: at least `count` records in a window."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.alerting.conditions.threshold import Threshold
from pipeline.alerting.engine import Engine
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import counted

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W


def test_holds_at_the_count_in_one_window_and_never_under_it():
    r = AlertRule(name="r", condition=Threshold(count=5), window_seconds=W)
    engine = Engine(lateness=2, default_window=W)
    assert all(
        engine.evaluate(r, counted({T0 + i * W: 4 for i in range(10)}, W), T0 + i * W + 5) == []
        for i in range(10)
    )
    (alert,) = engine.evaluate(r, counted({T0 + 1: 2, T0 + 3: 3}, W), T0 + 4)
    assert (alert.status, alert.value) == ("firing", 5)


def test_a_count_is_required_and_positive():
    with pytest.raises(ValidationError):
        Threshold(count=0)
    assert Threshold.model_validate({"type": "threshold", "count": 1}).lookback() == (1, 0)
