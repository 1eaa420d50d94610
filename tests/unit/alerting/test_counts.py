"""Reading counts: which table a rule reads, with which filters, folded into groups."""

from __future__ import annotations

from pipeline.alerting import tables
from pipeline.alerting.counts import Query, fold, window_counts
from pipeline.alerting.match import Match
from pipeline.alerting.testing import FakeClient
from pipeline.alerting.windows import Windowing

W = 10
T0 = 1_700_000_000 - 1_700_000_000 % W


def test_counts_are_grouped_and_services_filtered_by_glob():
    query = Query(Match(services=["api*"]), ("severity",), Windowing(W, W, 0), T0, T0 + 1)
    seen = fold(
        query,
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


def test_a_plain_match_reads_the_window_counts_and_names_severity_and_template():
    client = FakeClient([("api", 17, 255, T0, 6)])
    query = Query(
        Match(min_severity=17), ("service", "severity", "template"), Windowing(W, 5, 0), T0, T0
    )
    seen = window_counts(client, query)  # type: ignore[arg-type]
    ((sql, params),) = client.queries
    assert f"FROM {tables.WINDOW_COUNTS} " in sql and params == {
        "since": T0,
        "g": 5,
        "min_severity": 17,
    }
    group = (("service", "api"), ("severity", "ERROR"), ("template", "00000000000000ff"))
    assert seen.series[group].buckets == {T0: 6}


def test_a_match_on_bodies_or_attributes_reads_the_rows():
    client = FakeClient()
    match = Match(body_contains="timeout", body_regex="t.o", attributes={"b": "2", "a": "1"})
    window_counts(client, Query(match, ("service",), Windowing(W, W, 0), T0, T0))  # type: ignore[arg-type]
    ((sql, params),) = client.queries
    assert f"FROM {tables.LOGS} " in sql and "TimestampTime >= " in sql
    assert (params["contains"], params["regex"]) == ("timeout", "t.o")
    assert (params["k0"], params["v0"], params["k1"], params["v1"]) == ("a", "1", "b", "2")
