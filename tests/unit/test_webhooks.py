"""The delivery id: one per (notification, target), stable across restarts, sent as a header."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.alerting.notify.webhooks import DELIVERY_HEADER, delivery_id, request
from pipeline.settings import WebhookTarget
from schemas.alerting import Alert


def alert(starts_at: datetime, status: str = "firing") -> Alert:
    return Alert(
        status=status,  # type: ignore[arg-type]
        rule="r",
        fingerprint="f",
        group={},
        labels={},
        annotations={},
        summary="",
        starts_at=starts_at,
        value=1.0,
        window_start=starts_at,
        window_end=starts_at,
    )


def test_a_delivery_id_names_the_notification_and_target_to_the_millisecond():
    precise = alert(datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC))
    restored = alert(datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC))  # from DateTime64(3)
    assert delivery_id(precise, "ops") == delivery_id(restored, "ops")
    assert delivery_id(precise, "ops") == delivery_id(
        Alert.model_validate_json(precise.model_dump_json()), "ops"
    )
    others = {
        delivery_id(precise, "slack"),
        delivery_id(alert(precise.starts_at, "resolved"), "ops"),
        delivery_id(alert(datetime(2024, 5, 1, 12, 0, 0, 124000, tzinfo=UTC)), "ops"),
    }
    assert delivery_id(precise, "ops") not in others and len(others) == 3


def test_every_kind_of_request_carries_the_delivery_id():
    a = alert(datetime(2024, 5, 1, tzinfo=UTC))
    for kind in ("generic", "slack", "alertmanager"):
        target = WebhookTarget(name=kind, url="http://x", kind=kind)  # type: ignore[arg-type]
        _, headers = request(a, target, b"secret")
        assert headers[DELIVERY_HEADER] == delivery_id(a, kind)
