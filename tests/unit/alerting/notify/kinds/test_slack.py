"""`slack`: an incoming-webhook message with a header, the summary and the group, within Block
Kit's limits whatever the alert carries."""

from __future__ import annotations

import orjson

from pipeline.alerting.notify.kinds import slack
from pipeline.alerting.testing import alert

MARK = "… (truncated)"


def within_block_kit_limits(message: dict) -> None:
    """Slack's published limits, checked on the message as sent."""
    assert len(message["text"]) <= 3000
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(0 < len(f["text"]) <= 2000 for f in fields)
        if block["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in block["elements"])


def test_a_message_with_a_header_the_summary_and_the_group_as_fields():
    body = orjson.loads(slack.KIND.body(alert(summary="api is failing", value=42), "chat"))
    assert body["text"] == ":red_circle: [FIRING] unit-rule: api is failing"
    header, summary, fields, context = body["blocks"]
    assert header["type"] == "header" and summary["text"]["text"] == "api is failing"
    assert [f["text"] for f in fields["fields"]] == ["*service*\napi", "*count*\n42"]
    assert "fingerprint `f1`" in context["elements"][0]["text"]
    within_block_kit_limits(body)
    assert not slack.KIND.signed


def test_a_resolved_one_is_green():
    assert slack.payload(alert(status="resolved"))["text"].startswith(":large_green_circle:")


def test_a_long_service_name_is_cut_in_its_field_with_a_visible_mark():
    service = "checkout-" * 279  # 2,511 characters, as a real one gave 2,514
    body = orjson.loads(slack.KIND.body(alert(group={"service": service}, summary="s"), "chat"))
    within_block_kit_limits(body)
    service_field = body["blocks"][2]["fields"][0]["text"]
    assert len(service_field) == 2000 and service_field.endswith(MARK)
    assert service_field.startswith("*service*\ncheckout-checkout-")


def test_a_huge_summary_is_cut_in_the_text_and_in_its_section():
    summary = "stack frame at line 42; " * 2918  # 70,032 characters
    body = orjson.loads(slack.KIND.body(alert(summary=summary), "chat"))
    within_block_kit_limits(body)
    assert body["text"].endswith(MARK) and len(body["text"]) == 3000
    section = body["blocks"][1]["text"]["text"]
    assert section.startswith("stack frame at line 42;") and section.endswith(MARK)


def test_a_long_rule_name_is_cut_in_the_header():
    body = slack.payload(alert(rule="r" * 400, summary="s"))
    within_block_kit_limits(body)
    assert body["blocks"][0]["text"]["text"].endswith(MARK)


def test_log_text_cannot_mention_or_link_and_a_cut_never_leaves_half_an_entity():
    body = slack.payload(alert(summary="<!channel> user <*> & co"))
    assert body["blocks"][1]["text"]["text"] == "&lt;!channel&gt; user &lt;*&gt; &amp; co"
    # Escaped, the text is 2,985 x and 100 `&lt;`; the cut at 3,000 - 13 would keep `&l`.
    cut = slack.payload(alert(summary="x" * 2985 + "<" * 100))["blocks"][1]["text"]["text"]
    assert cut == "x" * 2985 + MARK


def test_an_empty_summary_makes_no_empty_section():
    body = slack.payload(alert(summary=""))
    within_block_kit_limits(body)
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    assert body["text"] == ":red_circle: [FIRING] unit-rule"
