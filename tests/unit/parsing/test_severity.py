"""Level words and numbers from every producer, and the names people write in settings, map to
OpenTelemetry severities."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.parsing.severity import WORDS, from_level, named
from schemas.records import Severity

# Words in any case or padding; numbers 0-7 are syslog severities, 10-50 Python levels.
LEVELS: dict[Severity, list[str | int | float | None]] = {
    Severity.TRACE: ["trace", "FINEST", "verbose", "VRB"],
    Severity.DEBUG: ["debug", "DBG", "dbug", "config", 7, 10],
    Severity.INFO: ["info", "Information", "notice", "SUCCESS", 5, 6, 20, 25.0],
    Severity.WARN: ["warn", "WARNING", "W", " warn ", 4, 30],
    Severity.ERROR: ["error", "err", "E", "SEVERE", "fail", 3, "3", 40, "40"],
    Severity.FATAL: ["crit", "CRITICAL", "emerg", "alert", "panic", "fatal", 0, 1, 2, 50],
    Severity.UNSPECIFIED: [
        None,
        "",
        "loud",
        True,
        -1,
        float("nan"),
        float("inf"),
        10**100,
        "9" * 5000,
        "²",
    ],
}


@pytest.mark.parametrize(
    ("level", "expected"),
    [(level, severity) for severity, levels in LEVELS.items() for level in levels],
)
def test_from_level(level, expected):
    assert from_level(level) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ERROR", Severity.ERROR), (" fatal ", Severity.FATAL), ("Warning", Severity.WARN)],
)
def test_named(name, expected):
    assert named(name) is expected


@pytest.mark.parametrize("name", ["ERR", "E", "crit", "UNSPECIFIED", "", "17"])
def test_named_refuses_producer_shorthands_and_says_what_to_use(name):
    with pytest.raises(ValueError, match="use TRACE, DEBUG, INFO, WARN, ERROR, FATAL$"):
        named(name)


_SPELLINGS = [w for word in WORDS for w in (word, word.upper(), word.title(), word.swapcase())]


@given(st.sampled_from(_SPELLINGS) | st.text(alphabet="aceEfFiInNoOrRsStTwW ĳİ1", max_size=9))
def test_a_word_reads_as_it_does_padded(word):
    # The usual spellings are looked up at once; a padded word always goes the long way round.
    assert from_level(word) is from_level(f" {word} ")
