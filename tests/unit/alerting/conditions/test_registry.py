"""The condition registry: every module in conditions/ is a kind rule files can name, and each
has its own test beside this one."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.alerting import conditions
from pipeline.alerting.rules import AlertRule

MODULES = sorted(m.name for m in pkgutil.iter_modules(conditions.__path__) if m.name != "base")


def test_every_module_registers_the_kind_it_is_named_after():
    assert conditions.names() == MODULES
    for name, cls in conditions.REGISTRY.items():
        assert cls.__module__ == f"{conditions.__name__}.{name}"


@pytest.mark.parametrize("name", MODULES)
def test_every_kind_has_its_own_test(name):
    assert (Path(__file__).parent / f"test_{name}.py").is_file()


def test_a_rule_names_its_kind_by_type_and_an_unknown_one_lists_the_known_kinds():
    rule = AlertRule.model_validate({"name": "r", "condition": {"type": "burst"}})
    assert type(rule.condition) is conditions.REGISTRY["burst"]
    with pytest.raises(ValidationError) as caught:
        AlertRule.model_validate({"name": "r", "condition": {"type": "sometimes"}})
    assert all(repr(name) in str(caught.value) for name in MODULES)


def test_a_kind_needs_a_literal_type_and_a_name_of_its_own():
    class Untyped(conditions.Condition):
        def holds(self, counts, window):  # type: ignore[no-untyped-def]
            return False

    with pytest.raises(TypeError, match="Literal"):
        conditions.register(Untyped)
    with pytest.raises(TypeError, match="two alert conditions are named 'threshold'"):
        conditions.register(conditions.REGISTRY["threshold"])
