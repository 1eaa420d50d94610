"""Conditions whose promise spans many windows, through the real broker and ClickHouse: an
absence fires until the service logs again, a new_template rule with no learning period
reports the first templates of a new database."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.bench.producer import produce
from tests.support.alerting import WINDOW, lines, start_worker
from tests.support.stack import run, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The absence's baseline is one window: the old code let the condition turn false (and the
# alert resolve) two windows into the silence, well before the repeat 3 windows after firing.
REPEAT_SECONDS = 3 * WINDOW
RULES = f"""
rules:
  - name: silent
    match: {{services: ["silent-*"]}}
    condition: {{type: absence, windows: 1, baseline_windows: 1}}
    group_by: [service]
    resolve_after_windows: 1
    repeat_seconds: {REPEAT_SECONDS}
    cooldown_seconds: 0
  - name: new-at-once
    match: {{services: ["fresh-*"]}}
    condition: {{type: new_template, learning_windows: 0}}
    group_by: [service, template]
"""


def statuses(client: Any, rule: str) -> list[str]:
    """Status of every alert `rule` recorded, oldest first."""
    return [
        status
        for (status,) in client.query(
            "SELECT Status FROM alerts WHERE Rule = {rule:String} ORDER BY EventTime",
            parameters={"rule": rule},
        ).result_rows
    ]


def test_absence_fires_until_the_service_logs_again(stack, tmp_path, receiver):
    rules_file = tmp_path / "conditions.yaml"
    rules_file.write_text(RULES)
    settings, worker, client = start_worker(
        stack, tmp_path, receiver, rules_file=rules_file, webhooks=[]
    )
    try:
        run(produce(settings, lines("silent-a", 3, "info")))
        wait_for(lambda: statuses(client, "silent") != [], 6 * WINDOW, "absence firing", worker)
        # Still silent: the repeat comes, no resolve before it.
        wait_for(
            lambda: len(statuses(client, "silent")) >= 2,
            REPEAT_SECONDS + 4 * WINDOW,
            "a repeat or a resolve",
            worker,
        )
        assert statuses(client, "silent")[:2] == ["firing", "firing"]

        run(produce(settings, lines("silent-a", 1, "info")))
        wait_for(
            lambda: "resolved" in statuses(client, "silent"),
            6 * WINDOW,
            "resolved once the service logged",
            worker,
        )
        assert statuses(client, "silent")[-1] == "resolved"
    finally:
        worker.stop()


def test_new_template_without_learning_reports_the_first_templates_of_a_new_database(
    stack, tmp_path, receiver
):
    rules_file = tmp_path / "conditions.yaml"
    rules_file.write_text(RULES)
    settings, worker, client = start_worker(
        stack, tmp_path, receiver, rules_file=rules_file, webhooks=[]
    )
    try:
        run(produce(settings, lines("fresh-a", 1, "error")))
        wait_for(
            lambda: statuses(client, "new-at-once") != [],
            4 * WINDOW,
            "a new template reported",
            worker,
        )
        ((group,),) = client.query(
            "SELECT GroupLabels FROM alerts WHERE Rule = 'new-at-once'"
        ).result_rows
        assert group["service"] == "fresh-a" and len(group["template"]) == 16
    finally:
        worker.stop()
