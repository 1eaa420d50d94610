"""Which rows the tail shows: Filters, their parsers, the errors; design: the package docstring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.enrich.store import canonical_id
from pipeline.errors import LogweirError
from pipeline.parsing import severity
from pipeline.query.timerange import TimeRangeError, parse_time


class TailError(LogweirError):
    """The tail cannot go on: a query ClickHouse refused (not an outage, which is retried)."""


class TailFilterError(TailError):
    """A filter or `since` value that cannot be used; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Which rows to show; empty values match everything."""

    service: str = ""
    min_severity: int = 0
    contains: str = ""
    regex: str = ""
    template_id: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # LogAttributes key = value, all of them

    def sql(self) -> tuple[list[str], dict[str, Any]]:
        """SQL conditions (fixed fragments, one per filter set) and their parameter values."""
        conditions: list[str] = []
        parameters: dict[str, Any] = {}
        if self.service:
            conditions.append("ServiceName = {service:String}")
            parameters["service"] = self.service
        if self.min_severity:
            conditions.append("SeverityNumber >= {min_severity:UInt8}")
            parameters["min_severity"] = self.min_severity
        if self.contains:
            conditions.append("position(Body, {contains:String}) > 0")
            parameters["contains"] = self.contains
        if self.regex:
            conditions.append("match(Body, {regex:String})")
            parameters["regex"] = self.regex
        if self.template_id is not None:
            # An alias id and the id it became show the same rows, as in every report.
            conditions.append(f"{canonical_id()} = {canonical_id('{template_id:UInt64}')}")
            parameters["template_id"] = self.template_id
        if self.attributes:
            conditions.append(
                "arrayAll((k, v) -> mapContains(LogAttributes, k) AND LogAttributes[k] = v, "
                "{attribute_keys:Array(String)}, {attribute_values:Array(String)})"
            )
            parameters["attribute_keys"] = [k for k, _ in self.attributes]
            parameters["attribute_values"] = [v for _, v in self.attributes]
        return conditions, parameters


def parse_severity(text: str) -> int:
    """`ERROR` (any case) or an OTel number 1–24 → the lowest SeverityNumber shown."""
    if text.strip().isdigit() and 1 <= int(text) <= 24:
        return int(text)
    try:
        return int(severity.named(text))
    except ValueError:
        raise TailFilterError(
            f"severity {text!r} is not a level: use TRACE, DEBUG, INFO, WARN, ERROR or FATAL "
            "(that level and above are shown) or a SeverityNumber 1-24"
        ) from None


def parse_attribute(text: str) -> tuple[str, str]:
    """`key=value` → (key, value); the value may hold `=` and may be empty."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise TailFilterError(
            f"attribute {text!r} is not key=value: e.g. http.response.status_code=500"
        )
    return key.strip(), value


def parse_template_id(text: str) -> int:
    if not text.strip().isdigit() or int(text) >= 2**64:
        raise TailFilterError(
            f"template {text!r} is not a template id: a number as `logweir query templates` shows"
        )
    return int(text)


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """`now` (or empty) → None: new rows only; else a duration ago or an ISO time."""
    if not text.strip() or text.strip().lower() == "now":
        return None
    try:
        return parse_time(text, now or datetime.now(UTC))
    except TimeRangeError as exc:
        raise TailFilterError(str(exc).replace("cannot read time", "since: cannot read")) from None


# Query parameters of `GET /v1/tail`, as `logweir tail` names its options.
QUERY_PARAMETERS = ("service", "severity", "contains", "regex", "template", "attribute", "since")


def parse_query(query: Mapping[str, str]) -> tuple[Filters, datetime | None]:
    """Filters and start from URL query parameters (aiohttp's `request.query` or a dict);
    `attribute` may repeat. Unknown parameters are refused, so a typo does not show everything."""
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise TailFilterError(
            f"unknown parameter {unknown[0]!r}: use {', '.join(QUERY_PARAMETERS)}"
        )
    if hasattr(query, "getall"):  # aiohttp's MultiDictProxy: every value of a repeated name
        attributes = list(query.getall("attribute", []))
    else:
        attributes = [query["attribute"]] if query.get("attribute") else []
    filters = Filters(
        service=query.get("service", ""),
        min_severity=parse_severity(query["severity"]) if query.get("severity") else 0,
        contains=query.get("contains", ""),
        regex=query.get("regex", ""),
        template_id=parse_template_id(query["template"]) if query.get("template") else None,
        attributes=tuple(parse_attribute(a) for a in attributes),
    )
    return filters, parse_since(query.get("since", ""))
