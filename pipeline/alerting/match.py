"""Which records a rule counts (`match:`) and how it groups them (`group_by:`)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.parsing import severity
from schemas.records import Severity

GroupKey = Literal["service", "severity", "template"]
Group = tuple[tuple[str, str], ...]  # sorted (key, value) pairs, e.g. (("service", "api"),)


class Strict(BaseModel):
    """A part of a rule file: unknown fields are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(Strict):
    """Which records a rule counts. Every field given must hold."""

    services: list[str] = Field(default_factory=list, description="glob patterns; empty = all")
    min_severity: Severity = Severity.UNSPECIFIED
    template_id: int | None = None
    body_contains: str | None = None
    body_regex: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("min_severity", mode="before")
    @classmethod
    def _severity_word(cls, value: object) -> object:
        if isinstance(value, str) and not value.isdigit():
            return severity.named(value)
        return value

    @field_validator("body_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @property
    def needs_rows(self) -> bool:
        """True when the match looks at bodies or attributes, which only the rows have."""
        return bool(self.body_contains or self.body_regex or self.attributes)

    def matches_service(self, service: str) -> bool:
        return not self.services or any(fnmatch.fnmatchcase(service, p) for p in self.services)


def group_of(group_by: Sequence[GroupKey], service: str, severity: str, template: str) -> Group:
    values = {"service": service, "severity": severity, "template": template}
    return tuple(sorted((k, values[k]) for k in group_by))
