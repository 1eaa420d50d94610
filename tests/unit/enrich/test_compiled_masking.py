"""The C matcher of template masking (pipeline/enrich/_masking.c) masks every ASCII body as the
regular expression does (`masking.regex_mask`, the definition): over real-world lines, bodies
built from the pattern's own characters and words, and hand-written edges of each alternative."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.bench.corpus import build
from pipeline.enrich import _masking, masking

REALWORLD = Path(__file__).parents[2] / "fixtures" / "realworld"

# Each a case where one alternative of the pattern must commit, or give up, as the regex does.
EDGES = [
    "user=alice id=42 a]=b x==y =lead k=v,w k=(v)",
    'GET "GET /index.html HTTP/1.1" "POST /x" "OPTIONS /x" "GETTINGS /x" "GE /x" "GETTINGSX /x"',
    "said \"hello world\" and ' quoted ' and 'it's' and 'tail' x'a' ('ok')",
    '"starts quoted" \'starts single\' "unclosed',
    'x="" y=\'\' z=" lead space" w=" "',
    "SOCKS5 ssh2 eth0 eth0.1 v1.2.3 3s 10ms 0x1F 1e6 -5 +7 50% a@b.c @x x@ 1:2:3 ab12 a1b",
    "host1.example.com a.b.c a.b.c. a.b.c.1 a.b a.b:80 a.b.c:8080 a.b.c:8080x a.b.c:x",
    "chrome.exe CHROME.EXE x.json x.js x.jsonx x.com:443 x.com:443x x.com:x x.co x.py_ y.tar-z",
    "http://a.b/c?d=1 svn+ssh://host/x a.b+c://z ftp:// x.y://q http:/x",
    "/var/log/x ~/x ./x ../x .../x / /) read/write x /a,b C:\\Windows\\x c:\\ a:\\b, ab:\\c",
    "Mon Monday Mond Sept Sep September Septembers May May@x Jun Juneau Dec. (Tue) _Mon",
    "trailing-dash- -x x- a.-b a_b.c_d.e_f __init__.py x.y.z_",
    "  many   spaces\tand\ttabs  ",
    "first line\nsecond line 42",
    "x" * 290 + " 12345 tail",
    "",
    "\x1c sep\x1f 12 \x0b 34",
]


def lines(path: Path) -> list[str]:
    return [json.loads(line)["line"] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("body", EDGES)
def test_edges_of_each_alternative(body):
    assert _masking.mask(body) == masking.regex_mask(body)


@pytest.mark.parametrize("path", sorted(REALWORLD.glob("*.jsonl")), ids=lambda p: p.stem)
def test_real_world_lines(path):
    checked = 0
    for body in lines(path):
        if body.isascii():
            assert _masking.mask(body) == masking.regex_mask(body), body
            checked += 1
    assert checked > 0


def test_the_benchmark_corpus():
    records = build("single", 3000).records("t", 0)
    for record in records:
        body = record.value.decode("utf-8", "replace")
        if body.isascii():
            assert _masking.mask(body) == masking.regex_mask(body), body


def test_bodies_beyond_ascii_are_left_to_the_regex():
    assert _masking.mask("café 42") is None
    assert masking.mask("café 42") == masking.regex_mask("café 42") == "café <*>"


# Tokens from the pattern itself: its separators, quotes, prefixes, suffixes and names.
_TOKENS = st.sampled_from(
    [
        *"abcxyzAZ_019@.:+%-=/\\~\"'()[]{}<>,;& \t\n",
        "GET /",
        "POST",
        "://",
        "http",
        "svn+ssh",
        "..",
        "~/",
        "C:\\",
        ".com",
        ".json",
        ".js",
        ".EXE",
        ":8080",
        "Mon",
        "Monday",
        "Sept",
        "May",
        "ssh2",
        "eth0",
        "v1.2",
        "0x1F",
        "k=",
    ]
    + [w for w in masking.FILE_SUFFIXES[:8] + masking.NAMES[:6]]
)


@hypothesis_settings(max_examples=3000, deadline=None)
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_bodies_made_of_the_patterns_own_pieces(body):
    assert _masking.mask(body) == masking.regex_mask(body)


@hypothesis_settings(max_examples=1000, deadline=None)
@given(st.text(st.characters(max_codepoint=127), max_size=120))
def test_any_ascii_text(body):
    assert _masking.mask(body) == masking.regex_mask(body)
