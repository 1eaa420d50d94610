"""The alert (`Alert`): what the alerts table stores, logs.alerts carries and webhooks deliver.

Rules, the YAML that raises alerts, are alerting's own configuration: `pipeline/alerting/rules.py`
(their conditions carry behaviour, which a schema cannot).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Alert(BaseModel):
    """One state change of one group of one rule: what the notifier delivers."""

    model_config = ConfigDict(frozen=True)

    status: Literal["firing", "resolved"]
    rule: str
    fingerprint: str  # stable per (rule, group): the same on every firing and its resolution
    group: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    starts_at: datetime
    ends_at: datetime | None = None
    # When this notification was decided: the firing (its start), each repeat of it (a repeat
    # keeps the start, so this is what tells the notifications of one alert apart), or its
    # resolution (its end). None only in alerts queued by a version that did not keep it.
    notified_at: datetime | None = None
    value: float  # the count that triggered or the last one seen
    window_start: datetime
    window_end: datetime
