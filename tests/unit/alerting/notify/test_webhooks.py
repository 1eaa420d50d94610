"""The request of one delivery: the delivery id (one per notification and target, stable
across restarts, sent as a header) and the signature of signed kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.alerting.notify import kinds
from pipeline.alerting.notify.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    delivery_id,
    request,
    sign,
)
from pipeline.alerting.testing import STARTS, alert
from pipeline.settings import WebhookTarget
from schemas.alerting import Alert


def test_each_notification_of_one_alert_is_a_delivery_of_its_own():
    first = alert(notified_at=STARTS)
    repeat = alert(notified_at=STARTS + timedelta(seconds=300))  # same start, same status
    again = alert(notified_at=STARTS + timedelta(seconds=600))
    ended = STARTS + timedelta(seconds=700)
    resolved = alert(status="resolved", ends_at=ended, notified_at=ended)
    ids = [delivery_id(a, "ops") for a in (first, repeat, again, resolved)]
    assert len(set(ids)) == 4
    # What a new leader reads back from the queue (the alert as JSON) names the same delivery.
    resumed = Alert.model_validate_json(repeat.model_dump_json())
    assert delivery_id(resumed, "ops") == delivery_id(repeat, "ops")
    assert delivery_id(repeat, "slack") not in ids


def test_a_delivery_queued_by_a_version_without_notification_times_keeps_its_id():
    # The id that version stored in alerts.DeliveryIds: its attempts settle it after an upgrade.
    assert delivery_id(alert(), "ops") == "93cc2ce20096a03f2f108daf"


def test_a_delivery_id_names_the_notification_and_target_to_the_millisecond():
    precise = alert(starts_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC))
    restored = alert(starts_at=datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC))  # DateTime64(3)
    assert delivery_id(precise, "ops") == delivery_id(restored, "ops")
    assert delivery_id(precise, "ops") == delivery_id(
        Alert.model_validate_json(precise.model_dump_json()), "ops"
    )
    others = {
        delivery_id(precise, "slack"),
        delivery_id(alert(starts_at=precise.starts_at, status="resolved"), "ops"),
        delivery_id(alert(starts_at=datetime(2024, 5, 1, 12, 0, 0, 124000, tzinfo=UTC)), "ops"),
    }
    assert delivery_id(precise, "ops") not in others and len(others) == 3


@pytest.mark.parametrize("kind", kinds.names())
def test_every_kind_of_request_carries_the_delivery_id_and_only_signed_kinds_a_signature(kind):
    a = alert()
    body, headers = request(a, WebhookTarget(name="t", url="http://x", kind=kind), b"secret")
    assert headers[DELIVERY_HEADER] == delivery_id(a, "t")
    if kinds.get(kind).signed:
        assert headers[SIGNATURE_HEADER] == sign(b"secret", headers[TIMESTAMP_HEADER], body)
    else:
        assert SIGNATURE_HEADER not in headers


def test_a_signed_kind_without_a_secret_is_sent_unsigned():
    _, headers = request(alert(), WebhookTarget(name="t", url="http://x"), b"")
    assert SIGNATURE_HEADER not in headers and TIMESTAMP_HEADER not in headers
