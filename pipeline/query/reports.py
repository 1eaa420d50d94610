"""Running a shipped report (see `catalog`): its options checked, its SQL read-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.clickhouse import read_only
from pipeline.errors import LogweirError, first_line
from pipeline.query.catalog import REPORTS, TOP_COLUMNS, Report
from pipeline.query.timerange import Scope

__all__ = ["REPORTS", "TOP_COLUMNS", "Params", "Report", "ReportError", "Rows", "find", "run"]


class ReportError(LogweirError):
    """A report that does not exist, a bad report option, or a query ClickHouse refused."""


@dataclass(frozen=True, slots=True)
class Params(Scope):
    """Everything a report may ask for; each report takes the subset its SQL names."""

    limit: int = 20
    by: str = "ServiceName"
    attribute: str = ""
    step: int = 60

    def bind(self, report: Report) -> dict[str, object]:
        """The parameter values for `report`, with the options it needs checked."""
        if "by" in report.parameters and self.by not in TOP_COLUMNS:
            raise ReportError(
                f"--by {self.by!r} is not a column to group by: use one of {', '.join(TOP_COLUMNS)}"
            )
        if "attribute" in report.parameters and not self.attribute:
            raise ReportError(
                f"report {report.name} needs --attribute KEY, e.g. --attribute url.path"
            )
        if self.limit < 1:
            raise ReportError(f"--limit {self.limit} must be at least 1")
        values = {
            "since": self.since,
            "until": self.until,
            "service": self.service,
            "limit": self.limit,
            "by": self.by,
            "attribute": self.attribute,
            "step": self.step,
        }
        return {name: values[name] for name in report.parameters}


def find(name: str) -> Report:
    for report in REPORTS:
        if report.name == name:
            return report
    raise ReportError(
        f"no report named {name!r}: `logweir query --list` shows the {len(REPORTS)} reports"
    )


@dataclass(frozen=True, slots=True)
class Rows:
    columns: tuple[str, ...]
    rows: Sequence[Sequence[object]]


def run(client: Client, report: Report, params: Params) -> Rows:
    """Run a report, read-only; rows come back in the report's columns."""
    try:
        result = client.query(report.sql, parameters=params.bind(report), settings=read_only())
    except ClickHouseError as exc:
        raise ReportError(f"report {report.name} failed in ClickHouse: {first_line(exc)}") from exc
    # An empty result carries no column names: the report still knows its own.
    return Rows(tuple(result.column_names) or report.columns, result.result_rows)
