"""The report registry: names, parameters, columns, and the options each report checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.errors import first_line
from pipeline.query import reports
from pipeline.query.reports import Params, ReportError

SINCE = datetime(2026, 3, 4, 5, 0, tzinfo=UTC)
PARAMS = Params(since=SINCE, until=SINCE + timedelta(hours=1))
KNOWN = {"since", "until", "service", "limit", "by", "attribute", "step"}


def test_names_are_unique_and_every_report_is_described():
    names = [r.name for r in reports.REPORTS]
    assert len(names) == len(set(names))
    assert {
        "errors",
        "error-templates",
        "error-bursts",
        "error-trend",
        "performance",
        "slowest",
        "users",
        "user-summary",
        "top",
        "top-attribute",
        "severity",
        "http",
    } <= set(names)
    for report in reports.REPORTS:
        assert report.description and report.columns
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", report.name)


@pytest.mark.parametrize("report", reports.REPORTS, ids=lambda r: r.name)
def test_sql_takes_only_known_parameters_and_always_a_time_range(report):
    assert set(report.parameters) <= KNOWN
    assert {"since", "until"} <= set(report.parameters)
    # Every value arrives as a server-side parameter: no Python format slots are left over.
    assert not re.search(r"\{[a-z_]+\}", report.sql)
    params = Params(SINCE, SINCE + timedelta(hours=1), attribute="url.path")
    assert set(params.bind(report)) == set(report.parameters)


def test_parameters_are_listed_once_in_order_of_use():
    report = reports.Report("x", "d", "SELECT {a:UInt8}, {b:String}, {a:UInt8}", ("a",))
    assert report.parameters == ("a", "b")


def test_bind_passes_only_what_the_report_uses():
    bound = PARAMS.bind(reports.find("error-trend"))
    assert bound == {"step": 60, "since": PARAMS.since, "until": PARAMS.until, "service": ""}


def test_top_groups_only_by_allowed_columns():
    top = reports.find("top")
    assert Params(SINCE, SINCE, by="TemplateId").bind(top)["by"] == "TemplateId"
    for bad in ("Body; DROP TABLE otel_logs", "LogAttributes", "servicename", ""):
        with pytest.raises(ReportError, match="is not a column to group by"):
            Params(SINCE, SINCE, by=bad).bind(top)


def test_top_attribute_needs_an_attribute():
    with pytest.raises(ReportError, match="needs --attribute"):
        PARAMS.bind(reports.find("top-attribute"))
    bound = Params(SINCE, SINCE, attribute="url.path").bind(reports.find("top-attribute"))
    assert bound["attribute"] == "url.path"


def test_limit_must_be_positive():
    with pytest.raises(ReportError, match="--limit 0"):
        Params(SINCE, SINCE, limit=0).bind(reports.find("slowest"))


def test_unknown_report_points_at_the_list():
    with pytest.raises(ReportError, match="logweir query --list"):
        reports.find("nope")


def test_first_line_drops_driver_prefix_and_server_noise():
    exc = Exception(
        "Received ClickHouse exception, code: 62, server response: Code: 62. "
        "DB::Exception: Syntax error (version 26.9.2.1) (for url http://x)\nmore"
    )
    assert first_line(exc) == "Code: 62. DB::Exception: Syntax error"
