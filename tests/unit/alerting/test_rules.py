"""Rule files: the shipped example loads, mistakes are named by file, rule and field."""

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
            "rule 'a', field condition.count: Input should be greater than or equal to 1",
        ),
        (
            "rules:\n  - name: b\n    match: {min_severity: loud}\n    condition: {type: burst}\n",
            "rule 'b', field match.min_severity: Value error, unknown severity 'loud'",
        ),
        ("rules:\n  - name: c\n    condition: {type: sometimes}\n", "rule 'c', field condition"),
        (
            "rules:\n  - name: d\n    condition: {type: threshold, count: 1}\n    colour: red\n",
            "rule 'd', field colour: Extra inputs are not permitted",
        ),
        (
            "rules:\n  - {name: e, condition: {type: threshold, count: 1}}\n"
            "  - {name: e, condition: {type: threshold, count: 2}}\n",
            "two rules are named 'e'",
        ),
        ("rules: [\n", "not valid YAML"),
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


def test_missing_file():
    with pytest.raises(SettingsError, match="no such rules file"):
        load(Path("/nonexistent/rules.yaml"))
