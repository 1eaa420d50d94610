"""`generic`: the alert itself as JSON, signed with the webhook secret."""

from __future__ import annotations

from pipeline.alerting.notify.kinds.base import Kind, register
from schemas.alerting import Alert


def body(alert: Alert, target: str) -> bytes:
    return alert.model_dump_json().encode()


KIND = register(Kind("generic", body, signed=True))
