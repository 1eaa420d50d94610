"""Rule files: the shipped example loads, mistakes are named by file, line and column, rule and
field, all of them at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.alerting.rules import BUILTIN_BURST, active, load
from pipeline.errors import SettingsError
from pipeline.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "alerts" / "rules.example.yaml"


def test_the_shipped_example_is_valid():
    names = [r.name for r in load(EXAMPLE)]
    assert "checkout-errors" in names and len(names) == len(set(names))


def test_builtin_burst_rule_is_on_by_default_and_can_be_turned_off(tmp_path):
    assert [r.name for r in active(Settings())] == [BUILTIN_BURST.name]
    assert active(Settings(builtin_burst_rule=False)) == []


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "rules:\n  - name: a\n    condition: {type: threshold, count: 0}\n",
            ":3:41: rule 'a', field condition.count: Input should be greater than or equal to 1",
        ),
        (
            "rules:\n  - name: b\n    match: {min_severity: loud}\n    condition: {type: burst}\n",
            ":3:27: rule 'b', field match.min_severity: Value error, unknown severity 'loud'",
        ),
        (
            "rules:\n  - name: c\n    condition: {type: sometimes}\n",
            ":3:16: rule 'c', field condition: Input tag 'sometimes' found using 'type'",
        ),
        (
            "rules:\n  - name: d\n    condition: {type: threshold, count: 1}\n    colour: red\n",
            ":4:5: rule 'd', field colour: Extra inputs are not permitted",
        ),
        (
            "rules:\n  - {name: e, condition: {type: threshold, count: 1}}\n"
            "  - {name: e, condition: {type: threshold, count: 2}}\n",
            ":3:12: rule 'e', field name: two rules are named 'e' (the first on line 2)",
        ),
        (
            "rules:\n  - name: f\n    condition: {type: threshold, count: 1\n    labels: {}\n",
            ":4:11: YAML: while parsing a flow mapping expected ',' or '}', but got ':'",
        ),
        (
            "rules:\n  - name: g\n    condition: {type: threshold, count: 1}\n    name: h\n",
            ":4:5: rules.0.name: 'name' is given twice (first on line 2)",
        ),
        ("- just a list\n", "expected a mapping with a `rules:` list"),
    ],
)
def test_errors_say_file_rule_field_and_what(tmp_path, yaml_text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml_text)
    with pytest.raises(SettingsError) as caught:
        load(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_every_problem_is_told_at_once_in_file_order(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - {name: a, condition: {type: threshold, count: 1}}\n"
        "  - {name: a, condition: {type: threshold, count: 0}}\n"
        "  - {condition: {type: burst, factor: 1}}\n"
        "  - {name: a, condition: {type: absence}, group_by: [host]}\n"
    )
    with pytest.raises(SettingsError) as caught:
        load(path)
    assert str(caught.value).split("; ") == [
        f"{path}:3:12: rule 'a', field name: two rules are named 'a' (the first on line 2)",
        f"{path}:3:51: rule 'a', field condition.count: Input should be greater than or equal to 1",
        f"{path}:4:5: rule #3, field name: Field required",
        f"{path}:4:39: rule #3, field condition.factor: Input should be greater than 1",
        f"{path}:5:12: rule 'a', field name: two rules are named 'a' (the first on line 2)",
        f"{path}:5:54: rule 'a', field group_by.0: Input should be 'service', 'severity' or "
        "'template'",
    ]


def test_missing_file():
    with pytest.raises(SettingsError, match="no such rules file"):
        load(Path("/nonexistent/rules.yaml"))
