"""Alert rules: the YAML model (`AlertRule`), loading a rules file, the built-in burst rule."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from pipeline.alerting import conditions
from pipeline.alerting.conditions import AnyCondition
from pipeline.alerting.conditions.burst import Burst
from pipeline.alerting.match import GroupKey, Match, Strict
from pipeline.errors import SettingsError
from pipeline.parsing.user_formats.yaml_file import Problem, Reader
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
    """Rules of one YAML file. All its problems are found at once (YAML syntax, fields, names
    given twice) and told in one line, each with its file, line, column, rule and field."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such rules file (LOGWEIR_RULES_FILE)") from None
    reader = _RulesReader(path)
    document = reader.load(text)
    if reader.problems and document is None:  # not YAML: nothing more can be told
        raise _error(reader)
    if not isinstance(document, dict) or "rules" not in document:
        raise SettingsError(f"{path}: expected a mapping with a `rules:` list")
    rules: list[AlertRule] = []
    try:
        rules = RuleFile.model_validate(document).rules
    except ValidationError as exc:
        for error in exc.errors():
            reader.field_problem(document, list(error["loc"]), error["msg"], error["type"])
    reader.names_given_twice(document["rules"])
    if reader.problems:
        raise _error(reader)
    return rules


def active(settings: Settings) -> list[AlertRule]:
    """The rules the worker evaluates."""
    rules = load(settings.rules_file) if settings.rules_file else []
    if settings.builtin_burst_rule and all(r.name != BUILTIN_BURST.name for r in rules):
        rules.insert(0, BUILTIN_BURST)
    return rules


class _RulesReader(Reader):
    """A rules file read with the position of every key and value (as formats files are), its
    problems worded by rule and field."""

    def field_problem(self, document: dict, loc: list[int | str], message: str, kind: str) -> None:
        """A validation error at `loc` (pydantic's location of it in the document)."""
        path = tuple(str(p) for p in _without_kind(loc))
        where = ".".join(path)
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            field = ".".join(path[2:]) or "(rule)"
            where = f"{_rule_name(document['rules'], loc[1])}, field {field}"
        # A key that should not be there is pointed at, not the value under it.
        self._add(path, where, message, at_key=kind == "extra_forbidden")

    def names_given_twice(self, rules: object) -> None:
        if not isinstance(rules, list):
            return
        first: dict[str, int] = {}
        for i, rule in enumerate(rules):
            name = rule.get("name") if isinstance(rule, dict) else None
            if not isinstance(name, str):
                continue
            if name in first:
                line, _ = self._position(("rules", str(first[name]), "name"), at_key=False)
                self._add(
                    ("rules", str(i), "name"),
                    f"{_rule_name(rules, i)}, field name",
                    f"two rules are named {name!r} (the first on line {line})",
                )
            else:
                first[name] = i

    def _add(self, path: tuple[str, ...], where: str, message: str, at_key: bool = False) -> None:
        line, column = self._position(path, at_key)
        self.problems.append(Problem(self.file, line, column, where, message))


def _rule_name(rules: list, index: int) -> str:
    """`rule 'name'`, or `rule #3` for one without a name."""
    try:
        name = rules[index].get("name")
    except (AttributeError, IndexError, TypeError):
        name = None
    return f"rule {name!r}" if isinstance(name, str) else f"rule #{index + 1}"


def _error(reader: Reader) -> SettingsError:
    """All problems of the file, in the order they appear in it, as one line."""
    problems = sorted(reader.problems, key=lambda p: (p.line or 0, p.column or 0))
    return SettingsError("; ".join(str(p) for p in problems))


def _without_kind(loc: list[int | str]) -> list[int | str]:
    """A field path without the condition kind pydantic puts after `condition` (the YAML
    has no such level: `condition.count`, not `condition.threshold.count`)."""
    return [
        p
        for i, p in enumerate(loc)
        if not (i > 0 and loc[i - 1] == "condition" and p in conditions.REGISTRY)
    ]
