"""Nginx and Apache error logs: levels, process/thread ids, client and request context."""

from __future__ import annotations

import pytest

from pipeline.parsing import errorlog
from tests.unit.parsing import golden


@pytest.mark.parametrize("case", golden.cases("nginx_error"))
def test_nginx_golden(case):
    golden.check(errorlog.parse_nginx(golden.line(case)), case, "nginx_error")


@pytest.mark.parametrize("case", golden.cases("apache_error"))
def test_apache_golden(case):
    golden.check(errorlog.parse_apache(golden.line(case)), case, "apache_error")


@pytest.mark.parametrize(
    "line",
    [
        b"2024/13/02 03:04:05 [error] 1#1: month 13",
        b"2024/01/02 03:04:05 error 1#1: no brackets",
        b"2024/01/02 03:04:05 [error] worker: no pid",
    ],
)
def test_nginx_malformed(line):
    assert errorlog.parse_nginx(line) is None


@pytest.mark.parametrize(
    "line",
    [
        b"[Wed Foo 11 14:32:52 2000] [error] bad month",
        b"[Wed Oct 11 14:32:52 2000] error without brackets",
        b"[INFO] not apache",
    ],
)
def test_apache_malformed(line):
    assert errorlog.parse_apache(line) is None
