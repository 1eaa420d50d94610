"""The formats and patterns a formats file defines, each checked field by field (every problem
recorded with its position) and compiled into a UserFormat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipeline.parsing import severity
from pipeline.parsing.user_formats import detection, grok, grok_safety
from pipeline.parsing.user_formats.columns import mapping
from pipeline.parsing.user_formats.compiled import FLAGS, UserFormat, make_parser, no_parse
from pipeline.parsing.user_formats.time_layouts import time_parser
from pipeline.parsing.user_formats.yaml_file import FormatsFileError, Reader
from schemas.records import Severity

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
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PATTERN_NAME = re.compile(r"[A-Za-z0-9_]+")


def read(path: Path, reserved: Iterable[str] = ()) -> list[UserFormat]:
    """Every format of a formats file, compiled; FormatsFileError listing every problem.

    `reserved` are the names already taken (the built-in formats)."""
    reader = Reader(path)
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


def _read_document(reader: Reader, data: Any, reserved: set[str]) -> list[UserFormat]:
    if not isinstance(data, dict):
        reader.problem((), "must be a mapping with `formats:` (and optionally `patterns:`)")
        return []
    reader.unknown_keys((), data, TOP_KEYS, "the file has `formats:` and optionally `patterns:`")
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


def _read_patterns(reader: Reader, patterns: Any) -> dict[str, str]:
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
    reader: Reader, name: str, spec: Any, custom: dict[str, str], reserved: set[str]
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
    reader.unknown_keys(here, spec, FORMAT_KEYS)
    pattern = spec.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip("\n"):
        reader.problem((*here, "pattern"), "is required: a grok pattern or a named-group regex")
        return None
    pattern = pattern.rstrip("\n")  # a YAML block scalar's final newline is not the line's
    before = len(reader.problems)
    regex, groups = _compile(reader, (*here, "pattern"), pattern, custom)
    time_of = time_parser(reader, here, spec.get("time_format"), spec.get("timezone"))
    severity_of = _severity_map(reader, (*here, "severity"), spec.get("severity"))
    if regex is None:
        return None
    columns, attributes = mapping(reader, here, spec, groups)
    claims = detection.claims(reader, (*here, "detect"), spec.get("detect"), regex)
    if len(reader.problems) > before or time_of is None or severity_of is None:
        return None
    fmt = UserFormat(name, pattern, regex, groups, columns, attributes, claims, no_parse, custom)
    fmt.parse = make_parser(fmt, time_of, severity_of)
    _check_examples(reader, (*here, "examples"), spec.get("examples"), fmt)
    return None if len(reader.problems) > before else fmt


def _check_examples(reader: Reader, path: tuple[str, ...], examples: Any, fmt: UserFormat) -> None:
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


def _compile(
    reader: Reader, path: tuple[str, ...], pattern: str, custom: dict[str, str]
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


def _severity_map(
    reader: Reader, path: tuple[str, ...], given: Any
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
