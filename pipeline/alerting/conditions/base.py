"""What an alert condition is: a model of its YAML fields that carries its own behaviour.

A condition kind is a `Condition` subclass with `type: Literal["<kind>"]`, decorated with
`@register` in its own module. The engine asks it only three things:

- `holds(counts, window)`: does it hold for one group in one window;
- `lookback()`: how many windows it reads, so the evaluation reads enough history;
- `observe(client, query)`: what it reads from ClickHouse (by default the window counts;
  a condition with a source of its own overrides it).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, NamedTuple, TypeVar, get_args

from clickhouse_connect.driver.client import Client

from pipeline.alerting.counts import Query, window_counts
from pipeline.alerting.match import GroupKey, Strict
from pipeline.alerting.windows import GroupCounts, Observation, Window


class Lookback(NamedTuple):
    """Windows a condition reads: `windows` up to the judged one, `baseline_windows` before."""

    windows: int = 1
    baseline_windows: int = 0


class Condition(Strict):
    """One kind of alert condition; `type` names it in rule files."""

    type: str
    # Keys the rule must group by for this condition to make sense.
    requires_group_by: ClassVar[frozenset[GroupKey]] = frozenset()

    @abstractmethod
    def holds(self, counts: GroupCounts, window: Window) -> bool:
        """Whether the condition holds for `counts.group` in `window`."""

    def lookback(self) -> Lookback:
        return Lookback()

    def observe(self, client: Client, query: Query) -> Observation:
        """What one evaluation of a rule with this condition sees."""
        return window_counts(client, query)


REGISTRY: dict[str, type[Condition]] = {}
C = TypeVar("C", bound=Condition)


def register(cls: type[C]) -> type[C]:
    """Make a condition kind known to rule files under the name its `type` field allows."""
    names = get_args(cls.model_fields["type"].annotation)
    if len(names) != 1 or not isinstance(names[0], str):
        raise TypeError(f"{cls.__name__}.type must be Literal['<kind name>']")
    if names[0] in REGISTRY:
        raise TypeError(f"two alert conditions are named {names[0]!r}")
    REGISTRY[names[0]] = cls
    return cls
