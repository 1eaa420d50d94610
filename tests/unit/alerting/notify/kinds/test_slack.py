"""`slack`: an incoming-webhook message with a header, the summary and the group."""

from __future__ import annotations

import orjson

from pipeline.alerting.notify.kinds import slack
from pipeline.alerting.testing import alert


def test_a_message_with_a_header_the_summary_and_the_group_as_fields():
    body = orjson.loads(slack.KIND.body(alert(summary="api is failing", value=42), "chat"))
    assert body["text"] == ":red_circle: [FIRING] unit-rule: api is failing"
    header, summary, fields, context = body["blocks"]
    assert header["type"] == "header" and summary["text"]["text"] == "api is failing"
    assert [f["text"] for f in fields["fields"]] == ["*service*\napi", "*count*\n42"]
    assert "fingerprint `f1`" in context["elements"][0]["text"]
    assert not slack.KIND.signed


def test_a_resolved_one_is_green():
    assert slack.payload(alert(status="resolved"))["text"].startswith(":large_green_circle:")
