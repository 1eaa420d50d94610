"""Alert rules: the YAML model (`AlertRule`), loading a rules file, the built-in burst rule."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError, model_validator

from pipeline.alerting import conditions
from pipeline.alerting.conditions import AnyCondition
from pipeline.alerting.conditions.burst import Burst
from pipeline.alerting.match import GroupKey, Match, Strict
from pipeline.errors import SettingsError, first_line
from pipeline.settings import Settings
from schemas.records import Severity


class AlertRule(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    match: Match = Field(default_factory=Match)
    condition: AnyCondition
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
        missing = self.condition.requires_group_by - set(self.group_by)
        if missing:
            keys = ", ".join(sorted(missing))
            raise ValueError(f"a {self.condition.type} rule must group by {keys}")
        if self.hop_seconds and self.window_seconds and self.hop_seconds > self.window_seconds:
            raise ValueError("hop_seconds cannot exceed window_seconds")
        return self


class RuleFile(Strict):
    rules: list[AlertRule]

    @model_validator(mode="after")
    def _unique_names(self) -> RuleFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}")
            seen.add(rule.name)
        return self


BUILTIN_BURST = AlertRule(
    name="error-burst",
    description="A service logs errors at five times its recent rate (and at least 20).",
    match=Match(min_severity=Severity.ERROR),
    condition=Burst(factor=5.0, min_count=20, baseline_windows=10),
    group_by=["service"],
    labels={"severity": "page"},
    annotations={"summary": "Error burst in {service}: {value} errors in one window"},
)


def load(path: Path) -> list[AlertRule]:
    """Rules of one YAML file; every problem is one line naming file, rule and field."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such rules file (LOGWEIR_RULES_FILE)") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {first_line(exc)}") from None
    if not isinstance(document, dict) or "rules" not in document:
        raise SettingsError(f"{path}: expected a mapping with a `rules:` list")
    try:
        return RuleFile.model_validate(document).rules
    except ValidationError as exc:
        raise SettingsError(_describe(path, document, exc)) from None


def active(settings: Settings) -> list[AlertRule]:
    """The rules the worker evaluates."""
    rules = load(settings.rules_file) if settings.rules_file else []
    if settings.builtin_burst_rule and all(r.name != BUILTIN_BURST.name for r in rules):
        rules.insert(0, BUILTIN_BURST)
    return rules


def _describe(path: Path, document: dict, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            try:
                name = document["rules"][loc[1]].get("name", f"#{loc[1] + 1}")
            except (AttributeError, IndexError, TypeError):
                name = f"#{loc[1] + 1}"
            field = ".".join(str(p) for p in _without_kind(loc[2:]))
            where = f"rule {name!r}, field {field or '(rule)'}"
        problems.append(f"{path}: {where}: {error['msg']}")
    return "; ".join(problems)


def _without_kind(loc: list[int | str]) -> list[int | str]:
    """A field path without the condition kind pydantic puts after `condition` (the YAML
    has no such level: `condition.count`, not `condition.threshold.count`)."""
    return [
        p
        for i, p in enumerate(loc)
        if not (i > 0 and loc[i - 1] == "condition" and p in conditions.REGISTRY)
    ]
