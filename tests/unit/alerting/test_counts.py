"""Reading counts: every rule at once, from which table, with which filters, folded into
groups, with the texts of the templates the groups name (a client that answers by table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from pipeline.alerting import tables
from pipeline.alerting.conditions import observe_all
from pipeline.alerting.conditions.burst import Burst
from pipeline.alerting.conditions.new_template import NewTemplate
from pipeline.alerting.conditions.threshold import Threshold
from pipeline.alerting.counts import Query, fold, window_counts
from pipeline.alerting.match import Match
from pipeline.alerting.windows import Windowing

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W
TEMPLATE = "00000000000000ff"


@dataclass
class Tables:
    """A client that answers each query with the rows given for the first table (or piece of
    SQL) it names, and remembers every query with its parameters."""

    rows: dict[str, list[tuple[Any, ...]]]
    queries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        self.queries.append((sql, dict(parameters or {})))
        rows = next((r for piece, r in self.rows.items() if piece in sql), [])
        return SimpleNamespace(result_rows=rows)

    def read(self, piece: str) -> list[dict[str, Any]]:
        """The parameters of each query that named `piece`."""
        return [params for sql, params in self.queries if piece in sql]


COUNTS = f"FROM {tables.WINDOW_COUNTS} "
ROWS = f"FROM {tables.LOGS} "
TEXTS = "argMaxMerge(Template)"


def query(match: Match, *group_by: Any, since: int = T0, hop: int = W) -> Query:
    return Query(match, group_by or ("service",), Windowing(W, hop, 0), since, T0 + 1)


def test_counts_are_grouped_and_services_filtered_by_glob():
    q = Query(Match(services=["api*"]), ("severity",), Windowing(W, W, 0), T0, T0 + 1)
    seen = fold(
        q,
        [
            ("api", "ERROR", "a", T0 + 1, 2),
            ("api-2", "ERROR", "b", T0 + 3, 1),
            ("web", "ERROR", "a", T0 + 1, 50),
            ("api", "INFO", "a", T0 + 1, 4),
        ],
    )
    assert {g: s.count(T0, T0 + W, W) for g, s in seen.series.items()} == {
        (("severity", "ERROR"),): 3,
        (("severity", "INFO"),): 4,
    }


def test_every_rule_on_the_window_counts_is_read_in_one_query():
    # (rule number, service, severity, template, [(bucket, count)]): per rule and group.
    client = Tables(
        {
            COUNTS: [
                (1, "api", 17, 0, [(T0, 6)]),
                (1, "web", 17, 0, [(T0, 9)]),  # the rule's glob leaves it out
                (2, "", 17, 0, [(T0, 2), (T0 + 5, 3)]),
            ]
        }
    )
    first = query(Match(services=["api*"], min_severity=17))
    second = query(Match(), "severity", since=T0 - 50, hop=5)
    one, two = window_counts(client, [first, second])  # type: ignore[arg-type]
    ((sql, params),) = client.queries
    assert COUNTS in sql and "otel_logs" not in sql
    assert params["since"] == T0 - 50 and (params["r0_since"], params["r1_since"]) == (T0, T0 - 50)
    assert (params["r0_severity"], params["r1_severity"]) == (17, 0)
    assert params["g"] == [W, 5]
    # Keys a rule neither groups by nor filters on are left out in SQL: one row per group.
    assert (params["by_service"], params["by_severity"], params["by_template"]) == (
        [1, 0],
        [0, 1],
        [0, 0],
    )
    assert {g: dict(s.buckets) for g, s in one.series.items()} == {(("service", "api"),): {T0: 6}}
    assert {g: dict(s.buckets) for g, s in two.series.items()} == {
        (("severity", "ERROR"),): {T0: 2, T0 + 5: 3}
    }


def test_rules_on_bodies_or_attributes_are_read_from_the_rows_in_one_more_query():
    client = Tables({ROWS: [(1, "api", 0, 0, [(T0, 4)])], COUNTS: [(1, "api", 0, 0, [(T0, 1)])]})
    bodies = Match(body_contains="timeout", body_regex="t.o", attributes={"b": "2", "a": "1"})
    plain, rows = window_counts(client, [query(Match()), query(bodies)])  # type: ignore[arg-type]
    assert len(client.queries) == 2
    ((params,),) = [client.read(ROWS)]
    assert "TimestampTime >= " in client.queries[1][0]
    assert (params["r0_contains"], params["r0_regex"]) == ("timeout", "t.o")
    assert (params["r0_k0"], params["r0_v0"], params["r0_k1"], params["r0_v1"]) == (
        "a",
        "1",
        "b",
        "2",
    )
    assert plain.series[(("service", "api"),)].buckets == {T0: 1}
    assert rows.series[(("service", "api"),)].buckets == {T0: 4}


def test_a_named_template_counts_under_any_of_its_ids():
    client = Tables({COUNTS: []})
    window_counts(client, [query(Match(template_id=0xAB))])  # type: ignore[arg-type]
    ((sql, params),) = client.queries
    assert params["r0_template"] == 0xAB and "{r0_template:UInt64}, mapKeys(_canonical)" in sql


def test_groups_by_template_come_with_the_template_text():
    client = Tables(
        {
            COUNTS: [(1, "api", 0, 0xFF, [(T0, 6)]), (2, "api", 0, 0, [(T0, 6)])],
            TEXTS: [(0xFF, "disk <*> is full")],
        }
    )
    by_template, by_service = window_counts(  # type: ignore[arg-type]
        client, [query(Match(), "service", "template"), query(Match())]
    )
    assert by_template.template_texts == {TEMPLATE: "disk <*> is full"}
    assert by_service.template_texts == {}
    ((params,),) = [client.read(TEXTS)]
    assert params == {"ids": [0xFF]}


def test_a_firing_template_group_with_no_rows_gets_its_text():
    """An absence: the group fires because its template stopped; the repeat or the resolve
    still names the template's text."""
    client = Tables({COUNTS: [], TEXTS: [(0xFF, "heartbeat <num>")]})
    absent = (("service", "api"), ("template", TEMPLATE))
    silent = Query(
        Match(), ("service", "template"), Windowing(W, W, 0), T0, T0 + 1, firing=(absent,)
    )
    (seen,) = window_counts(client, [silent])  # type: ignore[arg-type]
    assert seen.series == {}
    assert seen.template_texts == {TEMPLATE: "heartbeat <num>"}


def test_no_template_text_is_read_when_no_group_names_a_template():
    client = Tables({COUNTS: [(1, "api", 0, 0, [(T0, 6)])]})
    window_counts(client, [query(Match())])  # type: ignore[arg-type]
    assert client.read(TEXTS) == []


def test_conditions_that_read_alike_are_read_together():
    client = Tables(
        {
            f"FROM {tables.TEMPLATES} ": [
                ("api", 0xFF, [], "boom <num>", T0, 3, 17, T0 - 1000),
            ],
            COUNTS: [(1, "api", 0, 0, [(T0, 1)]), (2, "api", 0, 0, [(T0, 2)])],
        }
    )
    reads = [
        (Threshold(count=1), query(Match())),
        (NewTemplate(learning_windows=0), query(Match(), "template")),
        (Burst(), query(Match())),
    ]
    threshold, new, burst = observe_all(client, reads)  # type: ignore[arg-type]
    assert len(client.queries) == 2  # the window counts and the templates, once each
    assert threshold.series[(("service", "api"),)].buckets == {T0: 1}
    assert burst.series[(("service", "api"),)].buckets == {T0: 2}
    assert new.new_groups == {(("template", TEMPLATE),): 3}
    assert new.template_texts == {TEMPLATE: "boom <num>"}
