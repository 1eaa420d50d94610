"""Access logs: common/combined/nginx variants, OTel attribute names, user agents, severity."""

from __future__ import annotations

import pytest

from pipeline.parsing import access


@pytest.mark.parametrize(
    "line",
    [
        b'127.0.0.1 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.0" 200 1',  # no zone
        b'127.0.0.1 - - [31/Feb/2000:13:55:36 +0000] "GET / HTTP/1.0" 200 1',  # no such day
        b'127.0.0.1 - - [10/Foo/2000:13:55:36 +0000] "GET / HTTP/1.0" 200 1',
        b'127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.0" 20 1',
        b"127.0.0.1 - - something else",
    ],
)
def test_malformed_lines_are_refused(line):
    assert access.parse(line) is None


def test_user_agents_are_parsed_once_per_distinct_agent():
    access.user_agent.cache_clear()
    line = b'1.2.3.4 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.4.0"'
    for _ in range(3):
        access.parse(line)
    info = access.user_agent.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_oversized_user_agent_is_kept_but_not_parsed():
    agent = "Mozilla/5.0 " + "x" * 600
    line = f'1.2.3.4 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "{agent}"'
    record = access.parse(line.encode())
    assert record is not None
    assert record.attributes["user_agent.original"] == agent
    assert "user_agent.name" not in record.attributes
