"""`generic`: the alert as JSON, signed."""

from __future__ import annotations

from pipeline.alerting.notify.kinds import generic
from pipeline.alerting.testing import alert
from schemas.alerting import Alert


def test_the_body_is_the_alert_and_it_is_signed():
    a = alert()
    assert Alert.model_validate_json(generic.KIND.body(a, "ops")) == a
    assert generic.KIND.signed
