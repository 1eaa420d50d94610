"""`alertmanager`: the Alertmanager webhook payload, version 4, with this one alert."""

from __future__ import annotations

import orjson

from pipeline.alerting.notify.kinds.base import Kind, register
from schemas.alerting import Alert


def payload(alert: Alert, receiver: str) -> dict[str, object]:
    group_labels = {"alertname": alert.rule, **alert.group}
    ends = alert.ends_at.isoformat() if alert.ends_at else "0001-01-01T00:00:00Z"
    return {
        "version": "4",
        "groupKey": "{}:"
        + "{"
        + ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
        + "}",
        "truncatedAlerts": 0,
        "status": alert.status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": alert.labels,
        "commonAnnotations": alert.annotations,
        "externalURL": "",
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": {"summary": alert.summary, **alert.annotations},
                "startsAt": alert.starts_at.isoformat(),
                "endsAt": ends,
                "generatorURL": "",
                "fingerprint": alert.fingerprint,
            }
        ],
    }


KIND = register(Kind("alertmanager", lambda alert, target: orjson.dumps(payload(alert, target))))
