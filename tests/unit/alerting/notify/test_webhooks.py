"""The request of one delivery: the delivery id (one per notification and target, stable
across restarts, sent as a header) and the signature of signed kinds."""

from __future__ import annotations

from datetime import UTC, datetime

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
from pipeline.alerting.testing import alert
from pipeline.settings import WebhookTarget
from schemas.alerting import Alert


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
