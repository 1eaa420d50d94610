"""`new_template`: a template first stored in the current window; read from the templates
table (here a fake client that answers with the rows given)."""

from __future__ import annotations

import pytest

from pipeline.alerting.conditions.new_template import NewTemplate
from pipeline.alerting.counts import Query
from pipeline.alerting.engine import Engine
from pipeline.alerting.match import Match
from pipeline.alerting.rules import AlertRule
from pipeline.alerting.testing import FakeClient
from pipeline.alerting.windows import Observation, Windowing
from pipeline.errors import SettingsError

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W
GROUP = (("service", "api"), ("template", "00000000000000ff"))


def test_fires_per_template_group_with_the_template_text():
    r = AlertRule(name="r", condition=NewTemplate(), group_by=["service", "template"])
    engine = Engine(lateness=1, default_window=W)
    seen = Observation(new_groups={GROUP: 3}, template_texts={"00000000000000ff": "boom <num>"})
    (alert,) = engine.evaluate(r, seen, T0 + 1)
    assert alert.annotations["template"] == "boom <num>" and alert.value == 3


def test_reads_the_templates_first_stored_in_the_window_once_history_is_learned():
    now, learned = T0 + 5, T0 + 5 - 10 * W  # by default 10 windows after the first one stored
    # (service, current id, named ids it stands for, text, first stored, count, severity,
    # first template ever stored)
    rows = [
        ("api", 0xFF, [0xFF], "boom <num>", now - W, 3, 17, learned),
        ("web", 0xAB, [], "other", now - 1, 1, 17, learned),
        ("api", 0xAC, [], "filtered by id", now - 1, 1, 17, learned),
        ("api", 0xAD, [], "stored before the window", now - W - 1, 1, 17, learned),
        ("api", 0xAE, [], "below the severity", now - 1, 1, 9, learned),
    ]
    client = FakeClient(rows)
    query = Query(
        Match(services=["api"], min_severity=13),
        ("service", "template"),
        Windowing(W, W, 1),
        T0 - 99,
        now,
    )
    only = Query(Match(template_id=0xFF), ("template",), Windowing(W, W, 1), T0, now)
    reads = [(NewTemplate(), query), (NewTemplate(), only)]
    seen, named = NewTemplate.observe(client, reads)  # type: ignore[arg-type]
    ((_, params),) = client.queries  # one query for both rules
    assert params == {"since": now - W, "min_severity": 0, "named": [0xFF]}
    assert seen.new_groups == {GROUP: 3, (("service", "api"), ("template", "00000000000000ac")): 1}
    assert seen.template_texts["00000000000000ff"] == "boom <num>" and not seen.series
    assert named.new_groups == {(("template", "00000000000000ff"),): 3}
    client.rows = [(*row[:7], learned + 1) for row in rows]  # history one second short
    (seen,) = NewTemplate.observe(client, [(NewTemplate(), query)])  # type: ignore[arg-type]
    assert seen.new_groups == {}


def test_the_learning_period_is_the_rules_own_number_of_windows(tmp_path):
    from pipeline.alerting.rules import load

    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - name: at-once\n"
        "    condition: {type: new_template, learning_windows: 0}\n"
        "    group_by: [template]\n"
        "  - name: after-a-day\n"
        "    condition: {type: new_template, learning_windows: 144}\n"
        "    group_by: [template]\n"
        "    window_seconds: 600\n"
    )
    engine, now = Engine(lateness=1, default_window=W), T0 + 5
    # A template first stored now, the first ever stored a day (144 windows of 600 s) ago.
    client = FakeClient([("api", 0xFF, [], "boom", now, 1, 17, now - 144 * 600)])
    at_once, after_a_day = load(path)
    seen = NewTemplate.observe(  # type: ignore[arg-type]
        client, [(r.condition, engine.query(r, now)) for r in (at_once, after_a_day)]
    )
    assert [bool(s.new_groups) for s in seen] == [True, True]
    client.rows = [("api", 0xFF, [], "boom", now, 1, 17, now - 144 * 600 + 1)]
    seen = NewTemplate.observe(  # type: ignore[arg-type]
        client, [(r.condition, engine.query(r, now)) for r in (at_once, after_a_day)]
    )
    assert [bool(s.new_groups) for s in seen] == [True, False]
    path.write_text(
        "rules:\n  - name: n\n    condition: {type: new_template, learning_windows: -1}\n"
        "    group_by: [template]\n"
    )
    with pytest.raises(SettingsError, match="condition.learning_windows: Input should be greater"):
        load(path)


def test_a_rule_must_group_by_template(tmp_path):
    from pipeline.alerting.rules import load

    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: n, condition: {type: new_template}}\n")
    with pytest.raises(SettingsError, match="a new_template rule must group by template"):
        load(path)
