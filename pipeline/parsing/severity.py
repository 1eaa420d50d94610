"""Map any producer's level vocabulary to an OpenTelemetry severity."""

from __future__ import annotations

from schemas.records import Severity

WORDS: dict[str, Severity] = {
    word: sev
    for sev, words in {
        Severity.TRACE: "trace trc trce t finest finer verbose vrb v",
        Severity.DEBUG: "debug dbg dbug d fine config",
        Severity.INFO: "info information informational inf i notice n ok success",
        Severity.WARN: "warn warning wrn w",
        Severity.ERROR: "error err eror e severe exception fail failure",
        Severity.FATAL: "fatal ftl f critical crit c alert emerg emergency panic dpanic a",
    }.items()
    for word in words.split()
}

# The words as written in the cases producers use (`info`, `INFO`, `Info`), each what
# from_level reads it as: one lookup for the upper-case words of text formats.
_AS_WRITTEN: dict[str, Severity] = {
    spelling: sev
    for word, sev in WORDS.items()
    for spelling in (word, word.upper(), word.capitalize())
}

# What a person writes for a severity in settings, rules and commands: OpenTelemetry's names,
# and Python's WARNING for WARN.
_NAMES: dict[str, Severity] = {s.name: s for s in Severity if s} | {"WARNING": Severity.WARN}
NAMES = ", ".join(s.name for s in Severity if s)

# Syslog severities 0–7 are named by these keywords, which the table above already maps.
SYSLOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_SYSLOG = tuple(WORDS[word] for word in SYSLOG_LEVELS)


def from_level(level: str | int | float | None) -> Severity:
    """Severity for a level word or number; UNSPECIFIED when it means nothing known.

    Numbers 0–7 are syslog severities; 10–50 are Python logging levels; OTel numbers
    1–24 are not guessed at because they overlap both.
    """
    if type(level) is str:
        # Most producers write a word in one of these cases: one lookup, no string copies.
        found = _AS_WRITTEN.get(level)
        if found is not None:
            return found
    if level is None or level == "":
        return Severity.UNSPECIFIED
    if isinstance(level, bool):
        return Severity.UNSPECIFIED
    if isinstance(level, int | float):
        # NaN, infinities and huge numbers are not levels (and NaN has no int()).
        return _from_number(int(level)) if 0 <= level < 1000 else Severity.UNSPECIFIED
    word = level.strip().lower()
    found = WORDS.get(word)
    if found is not None:
        return found
    if word.isascii() and word.isdigit() and len(word) <= 3:
        return _from_number(int(word))
    return Severity.UNSPECIFIED


def _from_number(n: int) -> Severity:
    if 0 <= n <= 7:
        return _SYSLOG[n]
    if n >= 50:
        return Severity.FATAL
    if n >= 40:
        return Severity.ERROR
    if n >= 30:
        return Severity.WARN
    if n >= 20:
        return Severity.INFO
    if n >= 10:
        return Severity.DEBUG
    return Severity.TRACE


def named(name: str) -> Severity:
    """The severity a person named (`ERROR`, `warn`, ` Fatal `); ValueError naming the choices
    otherwise. Stricter than from_level, which reads whatever producers write ("E", "crit")."""
    found = _NAMES.get(name.strip().upper())
    if found is None:
        raise ValueError(f"unknown severity {name!r}: use {NAMES}")
    return found
