"""Loading alert rules: the YAML file from settings plus the built-in error-burst rule."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from pipeline.errors import SettingsError
from pipeline.settings import Settings
from schemas.alerting import AlertRule, Burst, Match, RuleFile
from schemas.records import Severity

BUILTIN_BURST = AlertRule(
    name="error-burst",
    description="A service logs errors at five times its recent rate (and at least 20).",
    match=Match(min_severity=Severity.ERROR),
    condition=Burst(type="burst", factor=5.0, min_count=20, baseline_windows=10),
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
        raise SettingsError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
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
            field = ".".join(
                str(p)
                for p in loc[2:]
                if p not in ("threshold", "burst", "new_template", "absence")
            )
            where = f"rule {name!r}, field {field or '(rule)'}"
        problems.append(f"{path}: {where}: {error['msg']}")
    return "; ".join(problems)
