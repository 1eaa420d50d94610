"""`new_template`: a template first stored in the current window; read from the templates
table (here a fake client that answers with the rows given)."""

from __future__ import annotations

import pytest

from pipeline.alerting.conditions.new_template import LEARNING_WINDOWS, NewTemplate
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
    # (service, template id, text, first stored, count, severity, learning since)
    rows = [
        ("api", 0xFF, "boom <num>", None, 3, 17, None),
        ("web", 0xAB, "other", None, 1, 17, None),
        ("api", 0xAC, "filtered by id", None, 1, 17, None),
    ]
    client = FakeClient(rows)
    query = Query(
        Match(services=["api"]), ("service", "template"), Windowing(W, W, 1), T0 - 99, T0 + 5
    )
    seen = NewTemplate().observe(client, query)  # type: ignore[arg-type]
    ((_, params),) = client.queries
    assert params["since"] == T0 + 5 - W and params["learned"] == T0 + 5 - LEARNING_WINDOWS * W
    assert seen.new_groups == {GROUP: 3, (("service", "api"), ("template", "00000000000000ac")): 1}
    assert seen.template_texts["00000000000000ff"] == "boom <num>" and not seen.series
    only = Query(Match(template_id=0xFF), ("template",), Windowing(W, W, 1), T0, T0 + 5)
    assert NewTemplate().observe(client, only).new_groups == {  # type: ignore[arg-type]
        (("template", "00000000000000ff"),): 3
    }


def test_a_rule_must_group_by_template(tmp_path):
    from pipeline.alerting.rules import load

    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: n, condition: {type: new_template}}\n")
    with pytest.raises(SettingsError, match="a new_template rule must group by template"):
        load(path)
