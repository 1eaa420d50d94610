"""`{template_text}` in what an alert says, for every rule grouped by template (not only
new_template), read through the alias map: a template merged from two ids shows the most
general text of either (issue 16, item 2)."""

from __future__ import annotations

import time

import orjson
import pytest

from pipeline.alerting.notify.kinds import get
from pipeline.alerting.rules import AlertRule
from pipeline.enrich.store import ALIASES
from pipeline.sink import LOG_COLUMNS
from tests.support.alert_reads import CountingClient, evaluator, log_row
from tests.support.stack import run

pytestmark = [pytest.mark.integration]

WINDOW = 10
CANONICAL, ALIAS = 0x200, 0x300
# The canonical id was stored with a text of one disk only; the alias, merged into it, with the
# general one: the alert shows the general text under the canonical id.
SPECIFIC, GENERAL = "disk sda is full", "disk <*> is full"


def test_every_rule_grouped_by_template_fills_template_text_with_the_canonical_text(clickhouse):
    now = time.time()
    rows = [log_row(now - 2, "api", 17, "disk sda is full", CANONICAL, SPECIFIC)] * 3
    rows += [log_row(now - 2, "api", 17, f"disk sd{c} is full", ALIAS, GENERAL) for c in "bc"]
    clickhouse.insert("otel_logs", rows, column_names=list(LOG_COLUMNS))
    clickhouse.insert(ALIASES, [[ALIAS, CANONICAL]], column_names=["Alias", "TemplateId"])
    summary = "{service}: {template_text} ({value})"
    rules = [
        AlertRule.model_validate(
            {
                "name": name,
                "match": match,
                "condition": {"type": "threshold", "count": 5},
                "group_by": ["service", "template"],
                "window_seconds": WINDOW,
                "annotations": {"summary": summary},
            }
        )
        for name, match in (
            ("by-counts", {"min_severity": "error"}),  # reads the window counts
            ("by-rows", {"body_contains": "is full"}),  # reads the rows
        )
    ]
    e, outbox = evaluator(CountingClient(clickhouse), rules, WINDOW)
    run(e.tick(time.time()))

    template = f"{CANONICAL:016x}"
    assert sorted((a.rule, a.group["template"], a.summary) for a in outbox.alerts) == [
        ("by-counts", template, f"api: {GENERAL} (5)"),
        ("by-rows", template, f"api: {GENERAL} (5)"),
    ]
    assert {a.annotations["template"] for a in outbox.alerts} == {GENERAL}
    stored = clickhouse.query("SELECT Rule, Summary FROM alerts ORDER BY Rule").result_rows
    assert stored == [("by-counts", f"api: {GENERAL} (5)"), ("by-rows", f"api: {GENERAL} (5)")]
    # What an Alertmanager receiver gets.
    sent = orjson.loads(get("alertmanager").body(outbox.alerts[0], "am"))
    assert sent["alerts"][0]["annotations"]["summary"] == f"api: {GENERAL} (5)"


def test_a_group_resolved_with_no_rows_left_still_names_its_template(clickhouse):
    """The rows that made it fire are older than anything the rule reads now: the group is
    known only from its firing state, and the resolve still says which template it was."""
    now = time.time()
    rows = [log_row(now - 2, "api", 17, f"disk sd{c} is full", ALIAS, GENERAL) for c in "abcde"]
    clickhouse.insert("otel_logs", rows, column_names=list(LOG_COLUMNS))
    rule = AlertRule.model_validate(
        {
            "name": "disk",
            "match": {"min_severity": "error"},
            "condition": {"type": "threshold", "count": 5},
            "group_by": ["service", "template"],
            "window_seconds": WINDOW,
            "annotations": {"summary": "{service}: {template_text} ({value})"},
        }
    )
    e, outbox = evaluator(CountingClient(clickhouse), [rule], WINDOW)
    run(e.tick(now))
    run(e.tick(now + 12 * WINDOW))  # past the rule's lookback: no rows of the group are read
    assert [(a.status, a.summary) for a in outbox.alerts] == [
        ("firing", f"api: {GENERAL} (5)"),
        ("resolved", f"api: {GENERAL} (0)"),
    ]
