"""Alert rules (YAML → AlertRule) and the alerts they raise (Alert, on the logs.alerts topic)."""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.records import Severity

GroupKey = Literal["service", "severity", "template"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
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
            try:
                return Severity[value.strip().upper().replace("WARNING", "WARN")]
            except KeyError:
                names = ", ".join(s.name for s in Severity if s)
                raise ValueError(f"unknown severity {value!r}: one of {names}") from None
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


class Threshold(_Strict):
    """At least `count` matching records in one window."""

    type: Literal["threshold"]
    count: int = Field(ge=1)


class Burst(_Strict):
    """At least `factor` × the average of the previous windows, and at least `min_count`."""

    type: Literal["burst"]
    factor: float = Field(5.0, gt=1)
    min_count: int = Field(20, ge=1)
    baseline_windows: int = Field(10, ge=1, le=1000)


class NewTemplate(_Strict):
    """A template never stored before appeared (grouped by template by definition)."""

    type: Literal["new_template"]


class Absence(_Strict):
    """A group that logged in the baseline windows logged nothing for `windows` windows."""

    type: Literal["absence"]
    windows: int = Field(3, ge=1)
    baseline_windows: int = Field(10, ge=1, le=1000)


Condition = Annotated[Threshold | Burst | NewTemplate | Absence, Field(discriminator="type")]


class AlertRule(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    match: Match = Field(default_factory=Match)
    condition: Condition
    group_by: list[GroupKey] = Field(default_factory=lambda: list[GroupKey](["service"]))
    window_seconds: int | None = Field(None, ge=1, description="default: Settings.window_seconds")
    hop_seconds: int | None = Field(None, ge=1, description="hopping windows; default tumbling")
    # Fire when the condition held in `trigger_windows` of the last `of_windows` windows.
    trigger_windows: int = Field(1, ge=1)
    of_windows: int = Field(1, ge=1)
    resolve_after_windows: int = Field(2, ge=1, description="quiet closed windows to resolve")
    repeat_seconds: float = Field(3600, gt=0, description="re-notify while still firing")
    cooldown_seconds: float = Field(300, ge=0, description="no new firing this soon after resolve")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> AlertRule:
        if self.trigger_windows > self.of_windows:
            raise ValueError("trigger_windows cannot exceed of_windows")
        if isinstance(self.condition, NewTemplate) and "template" not in self.group_by:
            raise ValueError("a new_template rule must group by template")
        if self.hop_seconds and self.window_seconds and self.hop_seconds > self.window_seconds:
            raise ValueError("hop_seconds cannot exceed window_seconds")
        return self


class RuleFile(_Strict):
    rules: list[AlertRule]

    @model_validator(mode="after")
    def _unique_names(self) -> RuleFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}")
            seen.add(rule.name)
        return self


class Alert(BaseModel):
    """One state change of one group of one rule: what the notifier delivers."""

    model_config = ConfigDict(frozen=True)

    status: Literal["firing", "resolved"]
    rule: str
    fingerprint: str  # stable per (rule, group): the same on every firing and its resolution
    group: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    starts_at: datetime
    ends_at: datetime | None = None
    value: float  # the count that triggered or the last one seen
    window_start: datetime
    window_end: datetime
