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

The modules, in the order a file goes through them: `yaml_file` (YAML read with the line and
column of every value; Problem, FormatsFileError), `definitions` (the file's patterns and
formats checked and compiled), `grok` and `grok_library` (patterns into one regex),
`grok_safety` and `regex_tree` (shapes that backtrack exponentially refused at start-up),
`columns`, `time_layouts` and `detection` (a format's fields), `compiled` (UserFormat and its
parser), `match_budget` (the CPU time one match may take). Registration is here.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from pipeline.parsing.registry import Registry
from pipeline.parsing.user_formats import match_budget
from pipeline.parsing.user_formats.compiled import COLUMNS, FLAGS, UserFormat
from pipeline.parsing.user_formats.definitions import read
from pipeline.parsing.user_formats.yaml_file import FormatsFileError, Problem

__all__ = [
    "COLUMNS",
    "FLAGS",
    "FormatsFileError",
    "Problem",
    "UserFormat",
    "install",
    "installed",
    "read",
]

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
    if any(match_budget.deadline_applies(f.regex.pattern, FLAGS) for f in compiled):
        match_budget.install_handler()
    for fmt in compiled:
        formats.add(fmt.registration())
    _installed[formats] = tuple(fmt.name for fmt in compiled)
    return compiled


def installed(formats: Registry) -> tuple[str, ...]:
    """Names of the user formats registered in `formats`."""
    return _installed.get(formats, ())
