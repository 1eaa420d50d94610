"""The C form of the key/value fields (pipeline/parsing/_fields.c) gives what the Python
functions give, value for value and type for type, attribute order included: `to_fields` over
any flat object, `json_group` over any line (orjson, flatten, to_fields)."""

from __future__ import annotations

import json
import time

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.bench import corpus
from pipeline.parsing import fields, json_object, logfmt
from pipeline.parsing.registry import Parsed
from tests.support import golden
from tests.support.leaks import LEAK_BYTES, traced_growth

# Time strings at the edges of timestamps.from_any's ISO pattern and range, written by hand:
# each is a case the C matcher must answer as the regex does, or leave to Python.
TIMES = [
    "2024-01-02T03:04:05Z",
    "2024-01-02t03:04:05z",
    "2024-01-02 03:04:05",
    "2024-01-02T03:04:05.123456789Z",
    "2024-01-02T03:04:05.1234567891Z",  # a tenth digit: the match ends before it, no zone
    "2024-01-02T03:04:05,5+01:00",
    "2024-01-02T03:04:05.Z",  # a dot without digits is not a fraction
    "2024-01-02T03:04:05 +0130",
    "2024-01-02T03:04:05\t-05:00",
    "2024-01-02T03:04:05  +01:00",  # two spaces: the zone is not read
    "2024-01-02T03:04:05+01:0",  # half a zone: not a zone, the time is UTC
    "2024-01-02T03:04:05+01",
    "2024-01-02T03:04:05+2400",  # hours out of range: no time
    "2024-01-02T03:04:05-00:60",
    "2024-01-02T03:04:05+01:00 trailing words",
    "2024-01-02T03:04:05 ",
    " 2024-01-02T03:04:05Z",  # leading space: stripped by from_any
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "2024-01-01T24:00:00Z",
    "0000-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",  # the epoch itself is 0: no time
    "1970-01-01T00:00:00.000000001Z",
    "1970-01-01T00:00:00.5+00:01",  # before the epoch once the zone is applied
    "2262-04-11T23:47:16.854775807Z",  # the last DateTime64(9) nanosecond
    "2262-04-11T23:47:16.854775808Z",
    "9999-12-31T23:59:59.999999999-23:59",
    "2024-01-02T03:04",
    "2024-01-02X03:04:05",
    "２０２４-01-02T03:04:05Z",  # full-width digits
    "2024-01-02T03:04:05Zé",
    "1704164645",
    "1704164645.123456789",
    "1704164645123",
    "",
    "now",
]

LEVELS = ["info", "INFO", " warn ", "Warning", "E", "crit", "50", "", "nonsense", "٣"]
ROLE_KEYS = [
    key
    for keys in (
        fields.TIME_KEYS,
        fields.LEVEL_KEYS,
        fields.MESSAGE_KEYS,
        fields.SERVICE_KEYS,
        fields.HOST_KEYS,
        fields.LOGGER_KEYS,
        fields.TRACE_KEYS,
        fields.SPAN_KEYS,
    )
    for key in keys
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TIMES + LEVELS),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.one_of(st.sampled_from(ROLE_KEYS), st.text(max_size=8))


def same(python: Parsed | None, compiled: Parsed | None) -> None:
    """Equal, with the same types (1 == 1.0 == True would hide a wrong one) and map order."""
    assert repr(compiled) == repr(python)
    if python is not None and compiled is not None:
        assert [type(v) for v in compiled] == [type(v) for v in python]
        assert list(compiled[9].items()) == list(python[9].items())


@pytest.mark.parametrize("time", TIMES)
def test_every_edge_of_the_time_pattern_reads_as_in_python(time):
    items = {"time": time, "msg": "m"}
    same(fields.to_fields(items, b"{}"), fields.compiled.to_fields(items, b"{}"))


# Strings near ISO_PATTERN: every optional part present or not, fractions past 9 digits, zones
# cut short, a few characters after it.
near_iso = st.from_regex(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d([.,]\d{0,12})?\s?([Zz]|[+-]\d\d:?\d{0,2})?.{0,3}",
    fullmatch=True,
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(near_iso)
def test_any_time_near_the_iso_pattern_reads_as_in_python(time):
    items = {"time": time}
    same(fields.to_fields(items, b"{}"), fields.compiled.to_fields(items, b"{}"))


@hypothesis_settings(max_examples=600, deadline=None)
@given(st.dictionaries(keys, values, max_size=14), st.binary(max_size=20))
def test_any_flat_object_gives_the_python_fields(items, line):
    same(fields.to_fields(items, line), fields.compiled.to_fields(items, line))


# Floats the C code writes itself (15 significant digits or fewer, 1e-4 to 1e15) and those it
# leaves to str(): the edges of that range and of 15 digits, halves, sums that do not round-trip.
FLOATS = [
    18.4,
    0.1 + 0.2,
    1 / 3,
    2.5,
    -0.5,
    100.0,
    -18.4,
    0.0,
    -0.0,
    1e-4,
    3e-4,
    9.999999999999999e-05,
    0.00010000000000000002,
    1e15 - 1,
    999999999999999.9,
    1e15,
    1e14 + 0.5,
    12345678901234.5,
    123456789012345.6,
    0.123456789012345,
    0.1234567890123456,
    5e-324,
    1.7976931348623157e308,
    float("inf"),
    float("-inf"),
]


def _decimals(digits: int, places: int) -> st.SearchStrategy[float]:
    return st.integers(-(10**digits), 10**digits).map(lambda n: float(f"{n}e-{places}"))


@hypothesis_settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False),
        st.integers(1, 17).flatmap(lambda d: st.integers(0, 20).flatmap(lambda p: _decimals(d, p))),
        st.sampled_from(FLOATS),
    )
)
def test_any_float_is_written_as_python_writes_it(number):
    items = {"n": number}
    assert fields.compiled.to_fields(items, b"{}")[9]["n"] == str(number)


def test_more_attributes_than_the_cap_keep_the_first_and_are_flagged():
    items = {f"k{i}": i for i in range(fields.MAX_ATTRIBUTES + 5)} | {"ts": "x", "msg": "m"}
    python, compiled = fields.to_fields(items, b"{}"), fields.compiled.to_fields(items, b"{}")
    same(python, compiled)
    assert compiled[10] == ["attributes_capped"] and len(compiled[9]) == fields.MAX_ATTRIBUTES


def reference_group(lines: list[bytes]) -> list[Parsed | None]:
    """json_object.parse_group as Python: the record path's parse, as fields."""
    out: list[Parsed | None] = []
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            out.append(None)
            continue
        is_object = type(obj) is dict
        out.append(fields.to_fields(json_object.flatten(obj), line) if is_object else None)
    return out


json_lines = st.one_of(
    st.dictionaries(keys, values, max_size=10).map(lambda d: json.dumps(d).encode()),
    st.dictionaries(keys, values, max_size=10).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode()
    ),
    st.binary(max_size=30).map(lambda b: b"{" + b),
    st.sampled_from([b"[]", b"1", b'"s"', b"null", b"{", b"{}", b'{"a":{}}', b'{"a":{"b":{}}}']),
)


@hypothesis_settings(max_examples=600, deadline=None)
@given(st.lists(json_lines, max_size=8))
def test_any_json_line_gives_the_python_fields(lines):
    for python, compiled in zip(
        reference_group(lines), fields.compiled.json_group(lines), strict=True
    ):
        same(python, compiled)


# JSON text as written by hand or by other encoders than json.dumps: any spacing, numbers of
# every width (and some that are not JSON), literals, nested and repeated keys.
_space = st.sampled_from(["", " ", "  ", "\t", "\r\n", "\n "])
_number = st.one_of(
    st.integers(-(10**19), 10**19).map(str),
    st.tuples(st.integers(-(10**9), 10**9), st.text("0123456789", min_size=1, max_size=10)).map(
        lambda p: f"{p[0]}.{p[1]}"
    ),
    st.sampled_from(["-0", "-0.0", "0.10", "01", "1.", ".5", "-", "1e5", "1E-2", "2.5e3", "-01"]),
)
_scalar = st.one_of(
    _number,
    st.sampled_from(["true", "false", "null", "tru", "nul", '"x\\n"', '"é"', "[1]", "{}"]),
    st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=6
    ).map(lambda t: f'"{t}"'),
)
_json_key = st.sampled_from(["a", "b", "a.b", "msg", "level", "ts", "http", "id", "x y"])


def _members(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    member = st.tuples(_space, _json_key, _space, _space, value, _space).map(
        lambda p: f'{p[0]}"{p[1]}"{p[2]}:{p[3]}{p[4]}{p[5]}'
    )
    return st.lists(member, min_size=1, max_size=6).map(lambda ms: "{" + ",".join(ms) + "}")


_json_text = st.recursive(_scalar, _members, max_leaves=12).filter(lambda t: t.startswith("{"))


@hypothesis_settings(max_examples=1500, deadline=None)
@given(_json_text, _space, _space)
def test_json_text_of_any_spacing_and_numbers_reads_as_orjson_and_flatten_read_it(
    text, left, right
):
    line = f"{left}{text}{right}".encode()
    flat = fields.compiled.json_flat(line)
    (python,) = reference_group([line])
    same(python, fields.compiled.json_group([line])[0])
    if flat is not None:  # read in C: what orjson and flatten make, in order and by type
        expected = json_object.flatten(orjson.loads(line))
        assert list(flat.items()) == list(expected.items())
        assert [type(v) for v in flat.values()] == [type(v) for v in expected.values()]


def test_the_common_json_lines_are_read_in_c():
    lines = [m for _, m in corpus.build("single", 2000).messages if m.startswith(b"{")]
    lines += [b' { "a" : 1 , "b" : { "c" : -0.50, "d": {"e": true} }, "f": null } ']
    for line in lines:
        assert fields.compiled.json_flat(line) == json_object.flatten(orjson.loads(line)), line
    for line in (b'{"a":{}}', b'{"a":1,"a":2}', b'{"a":1e5}', b'{"a":[1]}', b'{"a":"\\n"}'):
        assert fields.compiled.json_flat(line) is None, line  # left to orjson


def test_lines_share_their_keys_and_short_values_and_not_long_ones():
    long = "x" * 40
    json_rows = fields.compiled.json_group(
        [b'{"service":"api","u":"%s","n":{"k":"GET"}}' % long.encode()] * 2
    )
    logfmt_rows, _ = fields.compiled.logfmt_group([b"level=info svc=api u=%s" % long.encode()] * 2)
    for first, second in (json_rows, logfmt_rows):
        assert first == second
        assert [k for k in first[9]] == [k for k in second[9]]
        for key in first[9]:
            assert [k for k in second[9] if k == key][0] is key  # one str per key
    assert json_rows[0][3] is json_rows[1][3] == "api"  # the service, a short value
    assert json_rows[0][9]["n.k"] is json_rows[1][9]["n.k"] == "GET"
    assert logfmt_rows[0][9]["svc"] is logfmt_rows[1][9]["svc"] == "api"
    assert json_rows[0][9]["u"] is not json_rows[1][9]["u"]  # long values are made per line
    assert logfmt_rows[0][9]["u"] is not logfmt_rows[1][9]["u"]


def test_nested_objects_flatten_in_the_python_order():
    line = b'{"a":{"b":{"c":1},"d":2},"e":{"f":3},"g":4,"a.d":5,"msg":{"text":"m"}}'
    (python,) = reference_group([line])
    (compiled,) = fields.compiled.json_group([line])
    same(python, compiled)
    assert list(compiled[9]) == ["g", "a.d", "msg.text", "e.f", "a.b.c"]


def test_nested_names_are_kept_and_shared_and_right_past_what_is_kept():
    """Rows share the dotted names the C flatten keeps; the names kept are emptied when there
    are a few thousand, and a name is the same text either way."""
    pair = fields.compiled.json_group([b'{"http":{"status":200}}'] * 2)
    first, second = (next(iter(p[9])) for p in pair)
    assert first == "http.status" and first is second
    lines = [orjson.dumps({"ctx": {f"k{n}": n}, "http": {"status": 200}}) for n in range(9000)]
    compiled = fields.compiled.json_group(lines)
    assert compiled == reference_group(lines)
    assert [list(c[9]) for c in compiled] == [["http.status", f"ctx.k{n}"] for n in range(9000)]


def test_repeated_batches_leak_no_objects():
    """Every object the C code makes is released: a leaked dict, string or tuple per line
    would grow the traced memory by megabytes over these batches."""
    deep = b'{"a":' * 200 + b"1" + b"}" * 200
    lines = [
        deep,
        b'{"msg":"x","level":"warn","n":1.5,"t":"2024-01-02T03:04:05Z","ctx":{"id":[1,2]}}',
        b'{"message":"x","msg":"y","ts":"never","b":true}',
        b"not json",
        b"[1]",
    ] * 400
    expected = reference_group(lines)
    assert fields.compiled.json_group(lines) == expected
    grown = traced_growth(lambda: fields.compiled.json_group(lines))
    assert grown < LEAK_BYTES, f"{grown} bytes more after 5 batches of {len(lines)} lines"


# logfmt: the C tokenizer (`logfmt_group`) against logfmt._items and to_fields, line by line.


def logfmt_reference(line: bytes) -> Parsed | None:
    items = logfmt._items(line)
    return None if items is None else fields.to_fields(items, line)


def same_logfmt(lines: list[bytes]) -> int:
    """The C form's fields of each line it takes are the Python ones; how many it took."""
    found, unsure = fields.compiled.logfmt_group(lines)
    for i, (line, parsed) in enumerate(zip(lines, found, strict=True)):
        if i in unsure:
            assert parsed is None and not (line.isascii() and b"\n" not in line)
        else:
            same(logfmt_reference(line), parsed)
    assert logfmt.parse_group(lines) == [logfmt_reference(line) for line in lines]
    return len(lines) - len(unsure)


def test_documented_real_world_and_bench_lines_give_the_python_logfmt_fields():
    records = corpus.build("single", 4000).records("logs.raw", int(time.time() * 1000))
    lines = golden.every_line() + golden.real_world_lines()
    lines += [r.value.strip() for r in records]
    assert same_logfmt(lines) > 0.99 * len(lines)
    assert sum(logfmt_reference(line) is not None for line in lines) > 300


# The pieces where _TOKEN has choices: quotes (closed, open, escaped, around a line break),
# bare keys, empty values, junk after a value, and every kind of ASCII whitespace.
LOGFMT_PIECES = [
    "level=info",
    "msg=hello",
    'msg="a b"',
    'msg="say \\"hi\\" \\\\ \\n\\t\\r\\x"',
    'msg="open',
    'msg="\\',
    "msg=",
    "a=b=c",
    'a=b"c"',
    "debug",
    "=x",
    '"q"',
    "ts=2024-01-02T03:04:05Z",
    "@t=1",
    "x.y/z-w=1",
    "caf\u00e9=1",
    " ",
    "\t",
    "\x0b",
    "\x0c",
    "\r",
    "\n",
    "\\",
]


@hypothesis_settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(st.lists(st.sampled_from(LOGFMT_PIECES), min_size=1, max_size=8))
def test_any_arrangement_of_logfmt_pieces_gives_the_python_fields(pieces):
    line = " ".join(pieces).encode()
    same_logfmt([line, line.replace(b" ", b"")])


def test_logfmt_batches_leak_no_objects():
    lines = [b'level=info msg="a \\"b\\"" n=1 flag', b"a=1 b", b'x="open', b"plain"] * 500
    grown = traced_growth(lambda: fields.compiled.logfmt_group(lines))
    assert grown < LEAK_BYTES, f"{grown} bytes more after 5 passes over {len(lines)} lines"
