"""Alert conditions: a module per kind, each registering itself where it is defined.

Adding a condition is adding a module here (a `Condition` subclass with `type:
Literal["<kind>"]`, decorated with `@register`; see `base`) and its test in
tests/unit/alerting/conditions/: rule files accept it, the engine evaluates it, and
`logweir alerts check` lists it, with nothing else to edit.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from pipeline.alerting.conditions.base import REGISTRY, Condition, Lookback, observe_all, register
from pipeline.plugins import import_all

__all__ = [
    "REGISTRY",
    "AnyCondition",
    "Condition",
    "Lookback",
    "names",
    "observe_all",
    "register",
]

import_all(__name__, skip=("base",))

if TYPE_CHECKING:
    AnyCondition = Condition
else:
    # The field type of a rule's `condition`: one of the registered kinds, told by `type`.
    AnyCondition = Annotated[reduce(operator.or_, REGISTRY.values()), Field(discriminator="type")]


def names() -> list[str]:
    """The condition kinds rule files may name."""
    return sorted(REGISTRY)
