"""logweir's error tree: what a caller can do about each failure.

    LogweirError                 anything logweir raises on purpose; str() is one line with the fix
    ├── StackError               the embedded local stack could not start or stop
    ├── SettingsError            a setting is invalid or points at nothing
    ├── MigrationError           a schema migration failed (names the migration and the reason)
    └── SinkUnavailable          ClickHouse is down or slow: retry later, keep the data

Parse failures are not exceptions: a parser returns a dead-letter reason as data.
"""

from __future__ import annotations

import re

# Parts of a driver's error text that say nothing to a user: ClickHouse's version and URL.
_NOISE = re.compile(r" \((version|for url) [^)]*\)")


def first_line(exc: BaseException, limit: int = 300) -> str:
    """What a user or a log line needs of an exception: its first line, without the driver's
    prefix and noise; the exception's type name when it has no message."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    line = _NOISE.sub("", line.split("server response: ", 1)[-1])
    return line[:limit]


class LogweirError(Exception):
    """Base class; the message is a single line telling the user what to do."""


class StackError(LogweirError):
    pass


class SettingsError(LogweirError):
    pass


class MigrationError(LogweirError):
    pass


class SinkUnavailable(LogweirError):
    pass
