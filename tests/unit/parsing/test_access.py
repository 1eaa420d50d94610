"""Access logs: common/combined/nginx variants, OTel attribute names, user agents, severity."""

from __future__ import annotations

from pipeline.parsing import access


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
