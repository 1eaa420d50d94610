"""A compiled user format: its regex, where each of its groups goes, and its parser of the
built-in formats' shape, each match under the CPU-time budget of `match_budget`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.parsing import stacktrace
from pipeline.parsing.registry import Claim, Format
from pipeline.parsing.user_formats import grok, match_budget
from pipeline.parsing.user_formats.match_budget import MATCH_SECONDS
from schemas.records import LogRecord, Severity

log = logging.getLogger("logweir.parsing")

# The columns a group fills by its name, in the order the parser unpacks them.
COLUMNS = ("time", "level", "message", "service", "host", "logger", "trace_id", "span_id")
# `re.match` from the start of the line; \d \w \s ASCII (as in Logstash); `.` takes newlines.
FLAGS = re.ASCII | re.DOTALL


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
                m = match_budget.bounded(prefix.match, MATCH_SECONDS, 0)(text)
            except (re.error, grok.GrokError, match_budget.MatchTimeout):
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


def make_parser(
    fmt: UserFormat,
    time_of: Callable[[str], int | None],
    severity_of: Callable[[str], Severity],
) -> Callable[[bytes], LogRecord | None]:
    """The `parse(raw) -> LogRecord | None` of a compiled format."""
    name = fmt.name
    regex = fmt.regex
    match = match_budget.bounded(
        regex.match, MATCH_SECONDS, match_budget.deadline_applies(regex.pattern, FLAGS)
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
        except match_budget.MatchTimeout:
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


def no_parse(line: bytes) -> LogRecord | None:
    """The parser of a format not yet compiled."""
    return None
