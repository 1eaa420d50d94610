"""`slack`: a Slack incoming-webhook message (text and Block Kit blocks)."""

from __future__ import annotations

import orjson

from pipeline.alerting.notify.kinds.base import Kind, register
from schemas.alerting import Alert


def payload(alert: Alert) -> dict[str, object]:
    icon = ":red_circle:" if alert.status == "firing" else ":large_green_circle:"
    title = f"{icon} [{alert.status.upper()}] {alert.rule}"
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in alert.group.items()]
    fields.append({"type": "mrkdwn", "text": f"*count*\n{int(alert.value)}"})
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.summary[:3000]}},
        {"type": "section", "fields": fields[:10]},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"window {alert.window_start:%H:%M:%S}–"
                    f"{alert.window_end:%H:%M:%S} UTC · fingerprint `{alert.fingerprint}`",
                }
            ],
        },
    ]
    return {"text": f"{title}: {alert.summary}", "blocks": blocks}


KIND = register(Kind("slack", lambda alert, target: orjson.dumps(payload(alert))))
