"""`slack`: a Slack incoming-webhook message (text and Block Kit blocks).

Slack rejects a whole message when one part is over its limit, and alert text comes from logs
(service names, templates, summaries of any length), so every text is cut to fit, visibly.
"""

from __future__ import annotations

import re

import orjson

from pipeline.alerting.notify.kinds.base import Kind, register
from schemas.alerting import Alert

# Block Kit's limits (docs.slack.dev, reference/block-kit): a header's text, a section's text,
# each of a section's fields and how many fields a section holds.
HEADER_TEXT_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
MAX_FIELDS = 10
# The message's own `text` (the notification and the fallback): Slack cuts it at 40,000
# characters and incoming webhooks refuse long ones; an alert needs no more than this.
MESSAGE_TEXT_LIMIT = 3000

TRUNCATION_MARK = "… (truncated)"

# A cut mrkdwn text must not end in part of an entity: `&amp;` cut to `&am` would show as such.
_PARTIAL_ENTITY = re.compile(r"&[a-z]*$")


def escaped(text: str) -> str:
    """`text` as mrkdwn shows it literally: Slack reads `<…>` as links and mentions (a log line
    with `<!channel>` would notify everyone) and `&` as the start of an entity."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fitted(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its start and the truncation mark."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - len(TRUNCATION_MARK)]) + TRUNCATION_MARK


def payload(alert: Alert) -> dict[str, object]:
    icon = ":red_circle:" if alert.status == "firing" else ":large_green_circle:"
    title = f"{icon} [{alert.status.upper()}] {alert.rule}"
    fields = [
        {"type": "mrkdwn", "text": fitted(f"*{escaped(k)}*\n{escaped(v)}", FIELD_TEXT_LIMIT)}
        for k, v in alert.group.items()
    ]
    fields.append({"type": "mrkdwn", "text": f"*count*\n{int(alert.value)}"})
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fitted(title, HEADER_TEXT_LIMIT)}}
    ]
    if alert.summary:  # a section's text may not be empty
        summary = fitted(escaped(alert.summary), SECTION_TEXT_LIMIT)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    blocks += [
        {"type": "section", "fields": fields[:MAX_FIELDS]},
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
    text = escaped(f"{title}: {alert.summary}" if alert.summary else title)
    return {"text": fitted(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


KIND = register(Kind("slack", lambda alert, target: orjson.dumps(payload(alert))))
