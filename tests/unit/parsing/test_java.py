"""Java text logs: log4j/logback/Spring Boot layouts, threads, loggers and stack traces."""

from __future__ import annotations

import pytest

from pipeline.parsing import java


@pytest.mark.parametrize(
    "line",
    [
        b"2024-01-02 03:04:05.123 ERROR com.example.Foo - no thread",
        b"2024-01-02 03:04:05.123 NOTICE [main] com.example.Foo - not a Java level",
        b"2024-01-02 25:04:05.123 ERROR [main] com.example.Foo - bad hour",
        b"[main] ERROR com.example.Foo - no time",
    ],
)
def test_lines_without_the_java_shape_are_refused(line):
    assert java.parse(line) is None
