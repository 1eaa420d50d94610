"""What an alert condition is: a model of its YAML fields that carries its own behaviour.

A condition kind is a `Condition` subclass with `type: Literal["<kind>"]`, decorated with
`@register` in its own module. The engine asks it only these things:

- `holds(counts, window)`: does it hold for one group in one window;
- `holds_while_firing(counts, window)`: does it still hold for a group already firing (by
  default the same as `holds`);
- `lookback()`: how many windows it reads, so the evaluation reads enough history;
- `observe(client, reads)`: what the rules with this kind of condition see, read from
  ClickHouse all at once, one `Observation` per (condition, query) (by default the window
  counts; a condition with a source of its own overrides it). Every rule whose condition
  reads the same way is read in one call, in the same few queries however many rules.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from typing import ClassVar, NamedTuple, Self, TypeVar, get_args

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

    def holds_while_firing(self, counts: GroupCounts, window: Window) -> bool:
        """Whether the condition still holds for a group whose alert is firing: what keeps it
        from resolving. The same as `holds` unless what made it fire can outlast the windows
        `holds` reads (a silence longer than the baseline of `absence`)."""
        return self.holds(counts, window)

    def lookback(self) -> Lookback:
        return Lookback()

    @classmethod
    def observe(cls, client: Client, reads: Sequence[tuple[Self, Query]]) -> list[Observation]:
        """What one evaluation of each rule with this kind of condition sees."""
        return window_counts(client, [query for _, query in reads])


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


def observe_all(client: Client, reads: Sequence[tuple[Condition, Query]]) -> list[Observation]:
    """What one evaluation of each rule sees, given its condition and query: the rules whose
    conditions read the same way (the class that defines their `observe`) are read in one
    call of it, so the queries depend on the kinds of conditions, not on how many rules."""
    readers: dict[type[Condition], list[int]] = defaultdict(list)
    for i, (condition, _) in enumerate(reads):
        reader = next(k for k in type(condition).__mro__ if "observe" in vars(k))
        readers[reader].append(i)
    seen = [Observation() for _ in reads]
    for reader, part in readers.items():
        for i, observation in zip(
            part, reader.observe(client, [reads[i] for i in part]), strict=True
        ):
            seen[i] = observation
    return seen
