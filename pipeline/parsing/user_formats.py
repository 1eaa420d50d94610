"""User-defined formats: a YAML file of named patterns (LOGWEIR_FORMATS_FILE), compiled once at
start-up into parsers of the same shape as the built-in ones and registered in FORMATS.

    patterns:                     # optional: grok patterns of your own, used as %{NAME}
      TXID: '[0-9a-f]{16}'
    formats:
      billing:
        pattern: '%{TIMESTAMP_ISO8601:time} %{LOGLEVEL:level} %{WORD:app} %{TXID:tx} %{DATA:x}:
          %{GREEDYDATA:message}'     # YAML folds the line break into one space
        time_format: iso8601          # or auto (default), httpdate, syslog, epoch, epoch_s/_ms/
                                      # _us/_ns, or a strptime layout: '%d/%m/%Y %H:%M:%S.%f'
        timezone: UTC                 # of times written without a zone: +02:00, Europe/Paris
        severity: {AUDIT: INFO}       # level words → severities, before the usual vocabulary
        columns: {service: app}       # column: group, for groups not named like their column
        attributes: {billing.tx: tx}  # attribute name: group (the other groups keep their name)
        drop: [x]                     # groups stored nowhere
        detect: {first: digits, guard: '\\d{4}-', rank: 5}   # or true; absent: topic/header only
        examples: ['2024-01-02T03:04:05Z INFO api 00f067aa0ba902b7 charge: card declined']

A pattern is matched from the start of the line (`re.match`), `\\d \\w \\s` are ASCII (as in
Logstash) and `.` matches newlines (a traceback stays in the message). Groups named like a
column fill it: time, level, message (or body), service, host, logger, trace_id, span_id; every
other non-empty group becomes a LogAttributes entry under its name. Without a message group
the body is the whole line. Errors name the file, line and column, the format and the field.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.errors import SettingsError
from pipeline.parsing import grok, grok_safety, severity, stacktrace, timestamps
from pipeline.parsing.registry import DIGITS, LETTERS, UPPER, Claim, Format, Registry
from schemas.records import LogRecord, Severity

log = logging.getLogger("logweir.parsing")

COLUMNS = ("time", "level", "message", "service", "host", "logger", "trace_id", "span_id")
# A group named like this fills the column when `columns` does not say otherwise.
_DEFAULT_GROUPS = {column: (column,) for column in COLUMNS} | {"message": ("message", "body")}
FLAGS = re.ASCII | re.DOTALL
TOP_KEYS = ("formats", "patterns")
FORMAT_KEYS = (
    "pattern",
    "columns",
    "attributes",
    "drop",
    "time_format",
    "timezone",
    "severity",
    "detect",
    "examples",
    "description",
)
DETECT_KEYS = ("first", "guard", "rank")
NAMED_LAYOUTS = (
    "auto",
    "iso8601",
    "rfc3339",
    "httpdate",
    "syslog",
    "epoch",
    "epoch_s",
    "epoch_ms",
    "epoch_us",
    "epoch_ns",
)
FIRST_CLASSES = {
    "digits": DIGITS,
    "letters": LETTERS,
    "upper": UPPER,
    "lower": UPPER.lower(),
}
# Before the built-in formats (ranks 10-40): a format written for your lines should see them
# before a generic one that would also accept them.
DEFAULT_RANK = 5
GUARD_BYTES = 256  # a guard looks at this many leading bytes
# CPU time one match may take before the line is passed on (see grok_safety).
MATCH_SECONDS = 0.05
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PATTERN_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a formats file: where, in which format and field, and what."""

    file: str
    line: int | None
    column: int | None
    where: str  # "formats.nginx_custom.pattern", "patterns.PG_TIME", "YAML"
    message: str

    def __str__(self) -> str:
        at = self.file
        if self.line is not None:
            at += f":{self.line}"
            if self.column is not None:
                at += f":{self.column}"
        return f"{at}: {self.where}: {self.message}"


class FormatsFileError(SettingsError):
    """A formats file that cannot be used; str() is one line, `problems` has them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = len(problems) - 1
        first = str(problems[0])
        if more:
            first += f" (and {more} more: `logweir formats check {problems[0].file}` lists them)"
        super().__init__(first)


@dataclass
class UserFormat:
    """A compiled user format: its regex, where each group goes, and its parser."""

    name: str
    pattern: str
    regex: re.Pattern[str]
    groups: list[str]
    columns: dict[str, str]  # column → group
    attributes: dict[str, str]  # group → attribute name
    claims: tuple[Claim, ...]
    parse: Callable[[bytes], LogRecord | None]
    custom: dict[str, str] = field(default_factory=dict)
    timeouts: int = 0

    def registration(self) -> Format:
        return Format(self.name, self.parse, self.claims)

    def explain(self, line: bytes) -> str:
        """Why the pattern does not match a line: how far its longest matching start gets."""
        text = line.decode("utf-8", "replace")
        for cut in reversed(grok.cut_points(self.pattern)):
            try:
                prefix = re.compile(grok.expand(self.pattern[:cut], self.custom).regex, FLAGS)
                m = grok_safety.bounded(prefix.match, MATCH_SECONDS, 0)(text)
            except (re.error, grok.GrokError, grok_safety.MatchTimeout):
                continue
            if m is not None:
                matched = self.pattern[:cut]
                shown = matched if len(matched) <= 40 else "…" + matched[-39:]
                return (
                    f"the line matches the pattern up to `{shown}`, then the pattern expects "
                    f"`{_clip(self.pattern[cut:])}` where the line has {_clip(text[m.end() :])!r}"
                )
        return f"the line does not match the start of the pattern `{_clip(self.pattern)}`"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- reading the file ---------------------------------------------------------------------


class _Reader:
    """A formats file being read: its values, the position of every value, the problems."""

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.problems: list[Problem] = []
        self.marks: dict[tuple[str, ...], tuple[int, int]] = {}  # where each value starts
        self.key_marks: dict[tuple[str, ...], tuple[int, int]] = {}  # where each key is

    def problem(self, path: tuple[str, ...], message: str, at_key: bool = False) -> None:
        """Record a problem at a value (or at its key: a name that is wrong)."""
        line, column = self._position(path, at_key)
        where = ".".join(path) if path else "file"
        self.problems.append(Problem(self.file, line, column, where, message))

    def _position(self, path: tuple[str, ...], at_key: bool) -> tuple[int | None, int | None]:
        if at_key and path in self.key_marks:
            return self.key_marks[path]
        while path and path not in self.marks:
            path = path[:-1]
        found = self.marks.get(path)
        return found if found is not None else (None, None)

    def load(self, text: str) -> Any:
        import yaml  # at start-up only, and only with a formats file

        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            self._walk(node, ())
            return loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
            self.problems.append(Problem(self.file, line, column, "YAML", detail or str(exc)))
        except yaml.YAMLError as exc:
            self.problems.append(Problem(self.file, None, None, "YAML", str(exc)))
        finally:
            loader.dispose()
        return None

    def _walk(self, node: Any, path: tuple[str, ...]) -> None:
        import yaml

        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                here = (*path, key)
                at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in seen:
                    self.key_marks[here] = at
                    self.problem(
                        here, f"{key!r} is given twice (first on line {seen[key]})", at_key=True
                    )
                    continue
                self.key_marks[here] = at
                seen[key] = key_node.start_mark.line + 1
                self._walk(value_node, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, str(i)))


def read(path: Path, reserved: Iterable[str] = ()) -> list[UserFormat]:
    """Every format of a formats file, compiled; FormatsFileError listing every problem.

    `reserved` are the names already taken (the built-in formats)."""
    reader = _Reader(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reader.problem((), f"cannot be read: {exc}")
        raise FormatsFileError(reader.problems) from None
    data = reader.load(text)
    formats: list[UserFormat] = []
    if not reader.problems:
        formats = _read_document(reader, data, set(reserved))
    if reader.problems:
        raise FormatsFileError(reader.problems)
    return formats


def _read_document(reader: _Reader, data: Any, reserved: set[str]) -> list[UserFormat]:
    if not isinstance(data, dict):
        reader.problem((), "must be a mapping with `formats:` (and optionally `patterns:`)")
        return []
    for key in data:
        if key not in TOP_KEYS:
            reader.problem(
                (str(key),),
                f"unknown key{grok.suggest(str(key), list(TOP_KEYS))}: "
                "the file has `formats:` and optionally `patterns:`",
                at_key=True,
            )
    custom = _read_patterns(reader, data.get("patterns"))
    entries = data.get("formats")
    if not isinstance(entries, dict) or not entries:
        reader.problem(("formats",), "must map format names to their definitions")
        return []
    formats = []
    for name, spec in entries.items():
        compiled = _read_format(reader, str(name), spec, custom, reserved)
        if compiled is not None:
            formats.append(compiled)
    return formats


def _read_patterns(reader: _Reader, patterns: Any) -> dict[str, str]:
    if patterns is None:
        return {}
    if not isinstance(patterns, dict):
        reader.problem(("patterns",), "must map pattern names to regexes")
        return {}
    custom: dict[str, str] = {}
    for name, regex in patterns.items():
        here = ("patterns", str(name))
        if not isinstance(name, str) or not _PATTERN_NAME.fullmatch(name):
            reader.problem(
                here, "a pattern name is letters, digits and _ (used as %{NAME})", at_key=True
            )
        elif not isinstance(regex, str | int | float) or isinstance(regex, bool):
            reader.problem(here, "must be a regex (a string)")
        else:
            custom[name] = str(regex)
    for name in custom:  # each on its own, so that a problem names its pattern
        try:
            re.compile(grok.expand(f"%{{{name}}}", custom).regex, FLAGS)
        except grok.GrokError as exc:
            reader.problem(("patterns", name), str(exc))
        except re.error as exc:
            reader.problem(("patterns", name), f"does not compile: {exc}")
    return custom


def _read_format(
    reader: _Reader, name: str, spec: Any, custom: dict[str, str], reserved: set[str]
) -> UserFormat | None:
    here = ("formats", name)
    if not _NAME.fullmatch(name):
        reader.problem(here, "a format name is 1-64 letters, digits, `_`, `.` or `-`", True)
        return None
    if name in reserved:
        reader.problem(here, f"{name!r} is a built-in format: choose another name", True)
        return None
    if isinstance(spec, str):
        spec = {"pattern": spec}
    if not isinstance(spec, dict):
        reader.problem(here, "must be a mapping with at least `pattern:`")
        return None
    for key in spec:
        if key not in FORMAT_KEYS:
            reader.problem(
                (*here, str(key)),
                f"unknown key{grok.suggest(str(key), list(FORMAT_KEYS))}: "
                f"one of {', '.join(FORMAT_KEYS)}",
                at_key=True,
            )
    pattern = spec.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip("\n"):
        reader.problem((*here, "pattern"), "is required: a grok pattern or a named-group regex")
        return None
    pattern = pattern.rstrip("\n")  # a YAML block scalar's final newline is not the line's
    before = len(reader.problems)
    regex, groups = _compile(reader, (*here, "pattern"), pattern, custom)
    time_of = _time_parser(reader, here, spec.get("time_format"), spec.get("timezone"))
    severity_of = _severity_map(reader, (*here, "severity"), spec.get("severity"))
    if regex is None:
        return None
    columns, attributes = _mapping(reader, here, spec, groups)
    claims = _claims(reader, (*here, "detect"), spec.get("detect"), regex)
    if len(reader.problems) > before or time_of is None or severity_of is None:
        return None
    fmt = UserFormat(name, pattern, regex, groups, columns, attributes, claims, _no_parse, custom)
    fmt.parse = _parser(fmt, time_of, severity_of)
    _check_examples(reader, (*here, "examples"), spec.get("examples"), fmt)
    return None if len(reader.problems) > before else fmt


def _check_examples(reader: _Reader, path: tuple[str, ...], examples: Any, fmt: UserFormat) -> None:
    """Lines the format must read (its own test, run by every check and at start-up)."""
    if examples is None:
        return
    if isinstance(examples, str):
        examples = [examples]
    if not isinstance(examples, list):
        reader.problem(path, "must be a list of lines the format reads")
        return
    for i, example in enumerate(examples):
        here = (*path, str(i))
        if not isinstance(example, str):
            reader.problem(here, "must be a line (a string)")
            continue
        line = example.rstrip("\n").encode("utf-8")
        record = fmt.parse(line)
        if record is None:
            reader.problem(here, f"does not match: {fmt.explain(line)}")
        elif "time_unparsed" in record.attributes:
            reader.problem(
                here,
                f"time {record.attributes['time_unparsed']!r} does not read with the time_format",
            )


def _no_parse(line: bytes) -> LogRecord | None:
    return None


def _compile(
    reader: _Reader, path: tuple[str, ...], pattern: str, custom: dict[str, str]
) -> tuple[re.Pattern[str] | None, list[str]]:
    try:
        expansion = grok.expand(pattern, custom)
    except grok.GrokError as exc:
        at = f" (at character {exc.position + 1})" if exc.position is not None else ""
        reader.problem(path, f"{exc}{at}")
        return None, []
    try:
        regex = re.compile(expansion.regex, FLAGS)
    except re.error as exc:
        message = exc.msg
        if exc.pos is not None:
            source, reference = expansion.origin(exc.pos)
            message += f" (in {reference})" if reference else f" (at character {source + 1})"
        reader.problem(path, f"does not compile as a regex: {message}")
        return None, []
    except (OverflowError, RecursionError) as exc:
        reader.problem(path, f"does not compile as a regex: {exc}")
        return None, []
    for problem in grok_safety.problems(expansion.regex, FLAGS):
        reader.problem(path, problem)
    if not expansion.names:
        reader.problem(
            path, "captures nothing: name at least one group, e.g. %{GREEDYDATA:message}"
        )
    return regex, expansion.names


def _mapping(
    reader: _Reader, here: tuple[str, ...], spec: dict[str, Any], groups: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Column → group and group → attribute name, checked against the pattern's groups."""
    known = list(dict.fromkeys(groups))
    listing = ", ".join(known)

    def group_named(path: tuple[str, ...], value: Any) -> str | None:
        if not isinstance(value, str):
            reader.problem(path, "must name a group of the pattern")
            return None
        if value not in known:
            reader.problem(
                path,
                f"the pattern has no group {value!r}{grok.suggest(value, known)} "
                f"(its groups: {listing})",
            )
            return None
        return value

    columns: dict[str, str] = {}
    given = spec.get("columns") or {}
    if not isinstance(given, dict):
        reader.problem((*here, "columns"), "must map columns to groups, e.g. {time: stamp}")
        given = {}
    for column, value in given.items():
        path = (*here, "columns", str(column))
        column = "message" if column == "body" else column
        if column not in COLUMNS:
            reader.problem(
                path,
                f"unknown column{grok.suggest(str(column), list(COLUMNS))}: "
                f"one of {', '.join(COLUMNS)}",
                at_key=True,
            )
        elif (group := group_named(path, value)) is not None:
            columns[column] = group
    for column in COLUMNS:
        if column not in columns:
            for candidate in _DEFAULT_GROUPS[column]:
                if candidate in known:
                    columns[column] = candidate
                    break
    in_columns = set(columns.values())

    dropped: set[str] = set()
    drop = spec.get("drop") or []
    if isinstance(drop, str):
        drop = [drop]
    if not isinstance(drop, list):
        reader.problem((*here, "drop"), "must be a list of group names")
        drop = []
    for i, value in enumerate(drop):
        if (group := group_named((*here, "drop", str(i)), value)) is not None:
            dropped.add(group)

    renames = spec.get("attributes") or {}
    if not isinstance(renames, dict):
        reader.problem((*here, "attributes"), "must map attribute names to groups")
        renames = {}
    attributes = {group: group for group in known if group not in in_columns | dropped}
    for key, value in renames.items():
        path = (*here, "attributes", str(key))
        if not isinstance(key, str) or not grok.semantic_name(key):
            reader.problem(path, "an attribute name is letters, digits, `_`, `.`, `@` or `-`", True)
        elif (group := group_named(path, value)) is not None:
            if group in dropped:
                reader.problem(path, f"group {group!r} is also in drop")
            attributes[group] = key
    return columns, attributes


def _severity_map(
    reader: _Reader, path: tuple[str, ...], given: Any
) -> Callable[[str], Severity] | None:
    if given is None:
        return severity.from_level
    if not isinstance(given, dict):
        reader.problem(path, "must map level words to severities, e.g. {LOG: INFO}")
        return None
    mapped: dict[str, Severity] = {}
    for word, name in given.items():
        try:
            mapped[str(word)] = severity.named(str(name))
        except ValueError as exc:
            reader.problem((*path, str(word)), str(exc))
            return None
    folded = {word.lower(): sev for word, sev in mapped.items()}

    def of(level: str) -> Severity:
        found = mapped.get(level)
        if found is None:
            found = folded.get(level.lower())
        return severity.from_level(level) if found is None else found

    return of


def _claims(
    reader: _Reader, path: tuple[str, ...], given: Any, regex: re.Pattern[str]
) -> tuple[Claim, ...]:
    """Detection claims: none (topic and header only), or the first bytes (given, else those
    the pattern can start with), a rank and an optional guard on the leading bytes."""
    if given is None or given is False:
        return ()
    if given is True:
        given = {}
    if not isinstance(given, dict):
        reader.problem(path, "is true, or a mapping of first, guard and rank")
        return ()
    for key in given:
        if key not in DETECT_KEYS:
            reader.problem(
                (*path, str(key)),
                f"unknown key{grok.suggest(str(key), list(DETECT_KEYS))}: "
                f"one of {', '.join(DETECT_KEYS)}",
                at_key=True,
            )
    first_given = given.get("first")
    if first_given is None:
        chars = grok_safety.first_characters(regex.pattern, FLAGS)
        if chars == grok_safety.ALL:
            reader.problem(
                path,
                "the pattern can start with any character: say which with `first:` "
                "(e.g. first: digits), or leave detect out and choose the format per topic",
            )
            return ()
        first = grok_safety.first_bytes(chars)
    elif isinstance(first_given, str) and first_given:
        first = FIRST_CLASSES.get(first_given) or bytes(
            sorted({char.encode("utf-8")[0] for char in first_given})
        )
    else:
        reader.problem(
            (*path, "first"),
            f"characters a line may start with, or one of {', '.join(FIRST_CLASSES)}",
        )
        return ()
    rank = given.get("rank", DEFAULT_RANK)
    if not isinstance(rank, int) or isinstance(rank, bool):
        reader.problem((*path, "rank"), "must be a whole number (built-in formats use 10-40)")
        return ()
    guard: Callable[[bytes], object] | None = None
    if given.get("guard") is not None:
        text = given["guard"]
        if not isinstance(text, str):
            reader.problem((*path, "guard"), "must be a regex")
            return ()
        try:
            compiled = re.compile(text.encode("utf-8"), re.ASCII | re.DOTALL)
        except re.error as exc:
            reader.problem((*path, "guard"), f"does not compile as a regex: {exc}")
            return ()
        for problem in grok_safety.problems(compiled.pattern.decode("utf-8"), FLAGS):
            reader.problem((*path, "guard"), problem)
        guard_match = compiled.match

        def guard(line: bytes) -> object:
            return guard_match(line, 0, GUARD_BYTES)

    return (Claim(first, rank, guard),)


# --- time ---------------------------------------------------------------------------------

_HTTPDATE = re.compile(
    r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r" ?([+-]\d{2}:?\d{2})?$",
    re.ASCII,
)
_SYSLOG = re.compile(
    r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?$", re.ASCII
)
_DECIMAL = re.compile(r"\d{1,20}(?:\.\d{1,9})?", re.ASCII)
_EPOCH_UNITS = {"epoch_s": 10**9, "epoch_ms": 10**6, "epoch_us": 10**3, "epoch_ns": 1}
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%s")
_DATE_DIRECTIVES = ("%d", "%j", "%m", "%b", "%B", "%U", "%W", "%V", "%s", "%c", "%x")
_SAMPLE = datetime(2024, 3, 5, 14, 2, 11, 123456, tzinfo=UTC)

Zone = Callable[[int], int]  # local epoch seconds (as if UTC) → offset east of UTC, seconds


def _zone(reader: _Reader, path: tuple[str, ...], given: Any) -> Zone | None:
    if given is None or given in ("UTC", "utc", "Z", "GMT"):
        return lambda local: 0
    if not isinstance(given, str):
        reader.problem(path, "must be UTC, an offset like +02:00, or a zone like Europe/Paris")
        return None
    if re.fullmatch(r"[+-]\d{2}:?\d{2}", given):
        offset = timestamps.zone_offset(given)
        if offset is None:
            reader.problem(path, f"{given!r} is not an offset of at most ±23:59")
            return None
        return lambda local: offset
    import zoneinfo

    try:
        zone = zoneinfo.ZoneInfo(given)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reader.problem(path, f"unknown time zone {given!r}: use UTC, +02:00 or e.g. Europe/Paris")
        return None
    epoch = datetime(1970, 1, 1)

    def offset_of(local: int) -> int:
        moment = (epoch + timedelta(seconds=local)).replace(tzinfo=zone)
        found = moment.utcoffset()
        return 0 if found is None else int(found.total_seconds())

    return offset_of


def _time_parser(
    reader: _Reader, here: tuple[str, ...], layout: Any, timezone: Any
) -> Callable[[str], int | None] | None:
    """A cached `text → UTC ns or None` for the format's time layout and zone."""
    zone = _zone(reader, (*here, "timezone"), timezone)
    path = (*here, "time_format")
    if layout is None:
        layout = "auto"
    if not isinstance(layout, str) or not layout:
        reader.problem(path, "must be a strptime layout or one of " + ", ".join(NAMED_LAYOUTS))
        return None
    if zone is None:
        return None
    named = layout.lower()
    parse: Callable[[str], int | None]
    if named in NAMED_LAYOUTS:
        parse = _named_layout(named, zone)
    elif "%" in layout:
        parse = _strptime_layout(layout, zone)
        try:
            written = _SAMPLE.strftime(layout)
            datetime.strptime(
                written if _has(layout, _YEAR_DIRECTIVES) else f"2000 {written}",
                layout if _has(layout, _YEAR_DIRECTIVES) else f"%Y {layout}",
            )
        except ValueError as exc:
            reader.problem(path, f"{layout!r} is not a strptime layout it can read: {exc}")
            return None
    else:
        reader.problem(
            path,
            f"{layout!r} is neither a strptime layout (with % directives) nor one of "
            + ", ".join(NAMED_LAYOUTS),
        )
        return None
    return lru_cache(maxsize=4096)(parse)


def _has(layout: str, directives: tuple[str, ...]) -> bool:
    return any(d in layout for d in directives)


def _local_ns(seconds: int | None, fraction: str | None, zone: Zone) -> int | None:
    if seconds is None:
        return None
    return timestamps.to_ns(seconds, fraction, zone(seconds))


def _named_layout(layout: str, zone: Zone) -> Callable[[str], int | None]:
    if layout in ("iso8601", "rfc3339"):
        return lambda value: _iso(value.strip(), zone)
    if layout == "httpdate":
        return lambda value: _httpdate(value.strip(), zone)
    if layout == "syslog":
        return lambda value: _syslog(value.strip(), zone)
    if layout == "epoch":
        return lambda value: (
            timestamps.from_any(value.strip()) if _DECIMAL.fullmatch(value.strip()) else None
        )
    if layout in _EPOCH_UNITS:
        unit = _EPOCH_UNITS[layout]
        return lambda value: _epoch(value.strip(), unit)

    def auto(value: str) -> int | None:
        value = value.strip()
        iso = timestamps.LEADING_ISO.match(value)
        if iso is not None:
            return _iso(value, zone)
        return timestamps.from_any(value) or _httpdate(value, zone) or _syslog(value, zone)

    return auto


def _iso(value: str, zone: Zone) -> int | None:
    m = timestamps.LEADING_ISO.match(value)
    if m is None:
        return None
    ns = timestamps.from_iso_match(m)
    if ns is None or m.group(8):
        return ns
    offset = zone(ns // timestamps.NS)
    return ns - offset * timestamps.NS if offset else ns


def _httpdate(value: str, zone: Zone) -> int | None:
    m = _HTTPDATE.match(value)
    if m is None:
        return None
    day, month_name, year, hour, minute, second, fraction, offset = m.groups()
    month = timestamps.MONTHS.get(month_name)
    if month is None:
        return None
    seconds = timestamps.civil_seconds(
        int(year), month, int(day), int(hour), int(minute), int(second)
    )
    if offset:
        east = timestamps.zone_offset(offset)
        return None if east is None else timestamps.to_ns(seconds, fraction, east)
    return _local_ns(seconds, fraction, zone)


def _syslog(value: str, zone: Zone) -> int | None:
    m = _SYSLOG.match(value)
    if m is None:
        return None
    month_name, day, hour, minute, second, fraction = m.groups()
    month = timestamps.MONTHS.get(month_name)
    if month is None:
        return None
    # No year in the line: the one that puts it closest to now, as the syslog parser does.
    seconds = timestamps.nearest_year(
        month, int(day), int(hour), int(minute), int(second), time.time()
    )
    return _local_ns(seconds, fraction, zone)


def _epoch(value: str, unit: int) -> int | None:
    if not _DECIMAL.fullmatch(value):
        return None
    whole, _, fraction = value.partition(".")
    ns = int(whole) * unit
    if fraction and unit > 1:
        digits = len(str(unit)) - 1
        ns += int(fraction[:digits].ljust(digits, "0"))
    return ns if 0 < ns < 2**63 else None


def _strptime_layout(layout: str, zone: Zone) -> Callable[[str], int | None]:
    has_year = _has(layout, _YEAR_DIRECTIVES)
    has_date = _has(layout, _DATE_DIRECTIVES)
    full_layout = layout if has_year else f"%Y {layout}"

    def parse(value: str) -> int | None:
        # Yearless layouts read in 2000, a leap year, so that Feb 29 parses; the year is then
        # the one nearest now (like syslog's), and with no date at all, the nearest day.
        try:
            when = datetime.strptime(
                value.strip() if has_year else f"2000 {value.strip()}", full_layout
            )
        except ValueError:
            return None
        if has_year:
            seconds = timestamps.civil_seconds(
                when.year, when.month, when.day, when.hour, when.minute, when.second
            )
        elif has_date:
            seconds = _nearest_year(when)
        else:
            seconds = _nearest_day(when.hour * 3600 + when.minute * 60 + when.second)
        if seconds is None:
            return None
        offset = when.utcoffset()
        east = int(offset.total_seconds()) if offset is not None else zone(seconds)
        ns = (seconds - east) * timestamps.NS + when.microsecond * 1000
        return ns if 0 < ns < 2**63 else None

    return parse


def _nearest_year(when: datetime) -> int | None:
    """Epoch seconds of a yearless time in the year nearest now (Feb 29: the nearest leap
    year, which may be further than the next or the last one)."""
    now = time.time()
    found = timestamps.nearest_year(when.month, when.day, when.hour, when.minute, when.second, now)
    if found is not None:
        return found
    year = time.gmtime(now).tm_year
    candidates = [
        timestamps.civil_seconds(y, when.month, when.day, when.hour, when.minute, when.second)
        for y in range(year - 4, year + 5)
    ]
    return min((c for c in candidates if c is not None), key=lambda c: abs(c - now), default=None)


def _nearest_day(second_of_day: int) -> int:
    now = int(time.time())
    today = now - now % 86400 + second_of_day
    return min((today - 86400, today, today + 86400), key=lambda t: abs(t - now))


# --- the parser -----------------------------------------------------------------------------


def _parser(
    fmt: UserFormat,
    time_of: Callable[[str], int | None],
    severity_of: Callable[[str], Severity],
) -> Callable[[bytes], LogRecord | None]:
    """The `parse(raw) -> LogRecord | None` of a compiled format."""
    name = fmt.name
    regex = fmt.regex
    match = grok_safety.bounded(
        regex.match, MATCH_SECONDS, grok_safety.deadline_applies(regex.pattern, FLAGS)
    )
    # Per named group (in the order of the regex): its index in m.groups() (unnamed groups of
    # the user's regex are there too), the column it fills (index in COLUMNS, or -1) and the
    # attribute it fills ("" for none).
    by_group = {group: column for column, group in fmt.columns.items()}
    plan = tuple(
        (
            regex.groupindex[f"g{i}"] - 1,
            COLUMNS.index(by_group[group]) if group in by_group else -1,
            fmt.attributes.get(group, ""),
        )
        for i, group in enumerate(fmt.groups)
    )
    last_warning = [0.0]

    def timed_out(length: int) -> None:
        fmt.timeouts += 1
        now = time.monotonic()
        if now - last_warning[0] >= 60:
            last_warning[0] = now
            log.warning(
                "format %r: a line of %d characters took over %d ms to match and was passed "
                "on (%d so far): make the pattern's repetitions possessive (`++`) or more "
                "specific than %%{DATA}",
                name,
                length,
                int(MATCH_SECONDS * 1000),
                fmt.timeouts,
            )

    def parse(line: bytes) -> LogRecord | None:
        text = line.decode("utf-8", "replace")
        try:
            m = match(text)
        except grok_safety.MatchTimeout:
            timed_out(len(text))
            return None
        if m is None:
            return None
        values: list[str | None] = [None] * 8
        attributes: dict[str, str] = {}
        groups = m.groups()
        for position, column, key in plan:
            value = groups[position]
            if not value:  # did not take part, or empty: kept nowhere (as Logstash does)
                continue
            if column >= 0 and values[column] is None:
                values[column] = value
            if key and key not in attributes:
                attributes[key] = value
        stamp, level, message, service, host, logger, trace_id, span_id = values
        record = LogRecord(
            body="",
            format=name,
            service=service or "",
            host=host or "",
            logger=logger or "",
            trace_id=trace_id or "",
            span_id=span_id or "",
            attributes=attributes,
        )
        if stamp is not None:
            ns = time_of(stamp)
            if ns is None:
                attributes["time_unparsed"] = stamp
            else:
                record.timestamp_ns = ns
        if level is not None:
            record.level = level
            record.severity = severity_of(level)
        stacktrace.attach(record, text if message is None else message)
        return record

    return parse


# --- registration ---------------------------------------------------------------------------

# The user formats each registry holds, so that reading the file again replaces them.
_installed: weakref.WeakKeyDictionary[Registry, tuple[str, ...]] = weakref.WeakKeyDictionary()


def install(path: Path | None, formats: Registry) -> list[UserFormat]:
    """Register the formats of a formats file (none without one), replacing those a previous
    call registered; FormatsFileError when the file has problems."""
    for name in _installed.pop(formats, ()):
        formats.remove(name)
    if path is None:
        return []
    compiled = read(path, reserved=formats.parsers)
    if any(grok_safety.deadline_applies(f.regex.pattern, FLAGS) for f in compiled):
        grok_safety.install_handler()
    for fmt in compiled:
        formats.add(fmt.registration())
    _installed[formats] = tuple(fmt.name for fmt in compiled)
    return compiled


def installed(formats: Registry) -> tuple[str, ...]:
    """Names of the user formats registered in `formats`."""
    return _installed.get(formats, ())
