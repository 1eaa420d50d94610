"""The columnar prepare step makes exactly the rows, dead letters and counts of the
record-by-record one (`pipeline.ingest.batch.prepare`), column by column, over input written by
others: the formats' documented lines (tests/fixtures/parsing), the labelled real-world set,
the hostile corpus of the fuzz test, the bench corpus, and the Kafka context around them (keys,
headers, framing, topics, Kafka times, settings). The comparison is tests/support/identity.py.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import string
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.bench import corpus, realworld
from pipeline.bench.sample import bad_inputs
from pipeline.ingest import columnar
from pipeline.ingest.batch import Batch
from pipeline.parsing import fields
from pipeline.settings import DEFAULT_ENRICHERS
from pipeline.sink.tables import LOG_COLUMNS
from schemas.records import LogRecord, Severity
from tests.faults.test_fuzz import hostile
from tests.support import golden
from tests.support.identity import (
    NOW_MS,
    PAST_MS,
    TOPIC,
    Message,
    compare,
    compare_in_chunks,
    consumer_records,
)

HOSTILE_INPUTS = 20_000
CORPUS_EVENTS = 3_000
SERVICE_TOPIC = f"{TOPIC}.billing"

# ---------------------------------------------------------------------------------------------
# Hooks, loaded by name like a user's (LOGWEIR_HOOKS): each takes one branch of the ingestor's
# hook handling (changed, replaced, dropped, raising, returning something else).


def tag_hook(record: LogRecord) -> LogRecord:
    record.attributes["hooked"] = record.format
    return record


def replace_hook(record: LogRecord) -> LogRecord:
    if record.severity >= Severity.ERROR:
        return dataclasses.replace(record, body=f"[redacted] {len(record.body)}", flags=[])
    return record


def drop_hook(record: LogRecord) -> LogRecord | None:
    return None if record.severity == Severity.DEBUG or "drop" in record.body else record


def failing_hook(record: LogRecord) -> LogRecord:
    if "error" in record.body.lower():
        raise RuntimeError(f"hook failed on {record.format}")
    if "warn" in record.body.lower():
        return "not a record"  # type: ignore[return-value]
    return record


# A user's hook may keep state (sampling, rate limits): then the order it sees records in is
# part of the output, and the columnar step must call it in the message order too.
_sampled: list[int] = []


def sampling_hook(record: LogRecord) -> LogRecord | None:
    _sampled.append(1)
    return None if len(_sampled) % 3 == 0 else record


def _hook(name: str) -> str:
    return f"{__name__}:{name}"


HOOKS = [_hook(name) for name in ("tag_hook", "replace_hook", "drop_hook", "failing_hook")]

# ---------------------------------------------------------------------------------------------
# Inputs.


def golden_lines(fmt: str) -> list[bytes]:
    """Every line of a format's golden file: the cases and the lines it must refuse."""
    refused = [p.values[1] for p in golden.every_refusal() if p.values[0] == fmt]
    return [golden.line(case) for case in golden.load(fmt)] + refused


def at_both_times(lines: list[bytes]) -> list[Message]:
    """Each line at Kafka time now and at 2024-01-02, with and without a key."""
    return [
        message
        for line in lines
        for message in (Message(line), Message(line, key=b"svc", timestamp_ms=PAST_MS))
    ]


@cache
def golden_records() -> list[ConsumerRecord]:
    return consumer_records(
        at_both_times([line for fmt in golden.formats() for line in golden_lines(fmt)])
    )


@cache
def realworld_lines() -> dict[str, list[bytes]]:
    return {
        family: [row.line.encode() for row in rows] for family, rows in realworld.load().items()
    }


@cache
def realworld_records() -> list[ConsumerRecord]:
    lines = [line for family in realworld_lines().values() for line in family]
    return consumer_records(
        Message(line, timestamp_ms=PAST_MS if i % 2 else NOW_MS) for i, line in enumerate(lines)
    )


@cache
def hostile_records() -> list[ConsumerRecord]:
    # As the fuzz test sends them: a forced json format now and then.
    return consumer_records(
        Message(value, key, (("format", b"json"),) if i % 97 == 0 else ())
        for i, (key, value) in enumerate(hostile(HOSTILE_INPUTS))
    )


@cache
def corpus_records(shape: str) -> list[ConsumerRecord]:
    data = corpus.build(shape, CORPUS_EVENTS)
    return consumer_records(Message(v, k, tuple(data.headers)) for k, v in data.messages)


# Header sets around the parsers: enrichment's sources, a forced format known, unknown, empty
# or of the wrong encoding, each framing, a header without a value, a repeated header.
HEADER_SETS: list[tuple[tuple[str, bytes | None], ...]] = [
    (),
    (("service", b"checkout"), ("host", b"web-7")),
    (("service", b"\xffbad"), ("host", b"h\xc3\x28")),
    (("service", None), ("host", b"")),
    (("service", b"first"), ("service", b"second")),
    (("format", b"json"),),
    (("format", b"access"),),
    (("format", b"syslog"), ("framing", b"lines")),
    (("format", b"nope"),),
    (("format", b""),),
    (("format", b"\xff"),),
    (("framing", b"auto"),),
    (("framing", b"message"),),
    (("framing", b"lines"),),
    (("framing", b"bogus"),),
]
MESSAGE_KEYS = (None, b"orders", b"\xfe\xff")

_JSON_EVENTS = [line for line in golden_lines("json") if line.startswith(b'{"')][:4]
_ACCESS_LINE = golden.line(golden.load("access")[1])  # combined, with a user agent
MULTI_LINE = [
    b"\n".join(_JSON_EVENTS),  # NDJSON: split under framing auto
    b"\r\n".join(_JSON_EVENTS) + b"\n\n   \n",
    b"\n".join([*_JSON_EVENTS[:2], b"not json", _JSON_EVENTS[2]]),  # not NDJSON: one event
    b"\n".join([_ACCESS_LINE, *golden_lines("syslog")[:3], *golden_lines("logfmt")[:3]]),
    json.dumps(json.loads(_JSON_EVENTS[0]), indent=2).encode(),  # pretty-printed: one object
]
EMPTY = [None, b"", b" ", b"\n", b"\t \r\n  \n"]
INVALID_UTF8 = [
    b'{"msg": "caf\xe9 au lait", "level": "info"}',
    b'{"msg": "ok", "user": "\xff\xfe", "ts": "2024-01-02T03:04:05Z"}',
    _ACCESS_LINE.replace(b"Mozilla", b"Mozi\xffla"),
    _ACCESS_LINE.replace(b"/search", b"/s\xc3\x28arch"),
    b"2024-01-02 03:04:05,123 - api - ERROR - bad byte \xed\xa0\x80 here",
]
# Times the time enrichers must treat specially, whatever the Kafka time.
ODD_TIMES = [
    b'{"msg": "beyond DateTime64", "ts": "2261-12-01T00:00:00Z"}',
    b'{"msg": "beyond DateTime64 in ns", "ts": 9210000000000000000}',
    b'{"msg": "beyond any time", "timestamp": "2999-01-01T00:00:00Z"}',
    b'{"msg": "epoch zero", "ts": 0}',
    b'{"msg": "unreadable time", "time": "yesterday-ish"}',
    b'{"msg": "debug of long ago", "level": "debug", "ts": "2001-01-01T00:00:00Z"}',
]


def variation_messages() -> list[Message]:
    """One documented line per format (multi-line ones included) and the crafted values above,
    under the header sets, keys, topics and Kafka times (the common header sets under every
    combination of the others)."""
    bases = [golden_lines(fmt)[0] for fmt in golden.formats()]
    bases += [line for fmt in golden.formats() for line in golden_lines(fmt) if b"\n" in line]
    bases += MULTI_LINE + INVALID_UTF8 + ODD_TIMES
    messages = [
        Message(value, key, headers, topic, ms)
        for value, headers, key, topic, ms in itertools.product(
            bases, HEADER_SETS, MESSAGE_KEYS, (TOPIC, SERVICE_TOPIC), (NOW_MS, PAST_MS)
        )
        # Fewer combinations of the less likely header sets: the product is the slow part.
        if headers in HEADER_SETS[:5] or (key is None and ms == NOW_MS)
    ]
    messages += [Message(v, k, h) for v in EMPTY for k in MESSAGE_KEYS for h in HEADER_SETS[:6]]
    return messages


@cache
def variation_records() -> list[ConsumerRecord]:
    return consumer_records(variation_messages())


SOURCES: dict[str, Callable[[], list[ConsumerRecord]]] = {
    "golden": golden_records,
    "realworld": realworld_records,
    "hostile": hostile_records,
    "corpus-single": lambda: corpus_records("single"),
    "corpus-batched": lambda: corpus_records("batched"),
    "variations": variation_records,
}


def flags_of(batch: Batch) -> set[str]:
    column = LOG_COLUMNS.index("IngestFlags")
    return {flag for row in batch.log_rows for flag in row[column]}  # type: ignore[attr-defined]


def reasons_of(batch: Batch) -> set[str]:
    return {dead.reason for dead, _ in batch.dead_letters}


# ---------------------------------------------------------------------------------------------
# The same rows from each source, as one batch and as a worker's run of batches.


@pytest.mark.parametrize("fmt", golden.formats())
def test_documented_lines_of_each_format(fmt):
    batch = compare(consumer_records(at_both_times(golden_lines(fmt))))
    assert batch.log_rows


@pytest.mark.parametrize("fmt", golden.formats())
def test_documented_lines_with_their_format_forced(fmt):
    lines = golden_lines(fmt)
    by_header = [Message(line, headers=(("format", fmt.encode()),)) for line in lines]
    by_topic = [Message(line, topic=SERVICE_TOPIC) for line in lines]
    compare(consumer_records(by_header + by_topic), topic_formats={SERVICE_TOPIC: fmt})


@pytest.mark.parametrize("family", sorted(realworld_lines()))
def test_realworld_family(family):
    lines = realworld_lines()[family]
    batch = compare(consumer_records(Message(line, timestamp_ms=NOW_MS) for line in lines))
    assert len(batch.log_rows) == len(lines)


def test_hostile_inputs():
    # hostile() starts with bad_inputs() (the 5 MB line among them): a second copy would only
    # cost time.
    assert len({r.value for r in hostile_records()} & {v for _, v in bad_inputs()}) >= 9
    batch = compare(hostile_records())
    assert batch.dead_letters and batch.log_rows


@pytest.mark.parametrize("shape", ["single", "batched"])
def test_bench_corpus(shape):
    batch = compare(corpus_records(shape))
    assert len(batch.log_rows) == CORPUS_EVENTS


def test_kafka_context_around_the_parsers():
    batch = compare(variation_records())
    # The inputs reach every branch they were written for.
    assert {"time_past", "time_future", "time_expired", "time_missing"} <= flags_of(batch)
    assert {"invalid_utf8", "time_out_of_range", "format_mismatch"} <= flags_of(batch)
    assert {"empty", "bad_framing_header", "bad_format_header"} <= reasons_of(batch)


@pytest.mark.parametrize("source", SOURCES)
def test_batches_of_500_in_a_row(source):
    records = SOURCES[source]()
    batches = compare_in_chunks(records, 500)
    assert len(batches) == -(-len(records) // 500)


# ---------------------------------------------------------------------------------------------
# Settings that change what the prepare step does, each over the documented lines and the
# Kafka context; `check` shows the setting did take effect on the reference rows.

TEMPLATE_ID = LOG_COLUMNS.index("TemplateId")
LOG_FORMAT = LOG_COLUMNS.index("LogFormat")
TOPIC_COLUMN = LOG_COLUMNS.index("KafkaTopic")


def _topic_format_applies(batch: Batch) -> bool:
    return any(
        r[TOPIC_COLUMN] == SERVICE_TOPIC and r[LOG_FORMAT] == "access" for r in batch.log_rows
    )


def _no_template(batch: Batch) -> bool:
    return all(r[TEMPLATE_ID] == 0 for r in batch.log_rows)


def _time_without_skew(batch: Batch) -> bool:
    return "time_missing" in flags_of(batch) and "time_past" not in flags_of(batch)


def _nothing_filled(batch: Batch) -> bool:
    return "time_missing" not in flags_of(batch)


def _hooks_ran(batch: Batch) -> bool:
    return batch.tally.dropped > 0 and "hook_error" in reasons_of(batch)


def _truncated(batch: Batch) -> bool:
    return "truncated" in flags_of(batch)


def _rows(batch: Batch) -> bool:
    return bool(batch.log_rows)


def _past_and_expired(batch: Batch) -> bool:
    return {"time_past", "time_expired"} <= flags_of(batch)


def _beyond_max_clusters(batch: Batch) -> bool:
    return len({r[TEMPLATE_ID] for r in batch.log_rows}) > 100


OVERRIDES: dict[str, tuple[dict[str, object], Callable[[Batch], bool]]] = {
    "topic-format": (
        {"topic_formats": {SERVICE_TOPIC: "access", TOPIC: "json"}},
        _topic_format_applies,
    ),
    "no-template": ({"enrichers": [e for e in DEFAULT_ENRICHERS if e != "template"]}, _no_template),
    "reordered-enrichers": (
        {"enrichers": ["template", "truncate", "host", "time"]},
        _time_without_skew,
    ),
    "no-enrichers": ({"enrichers": []}, _nothing_filled),
    "hooks": ({"hooks": HOOKS}, _hooks_ran),
    "small-bodies": ({"max_body_bytes": 256}, _truncated),
    "framing-lines": ({"framing": "lines"}, _rows),
    "framing-message": ({"framing": "message"}, _rows),
    "tight-skew-and-retention": (
        {
            "max_future_skew_seconds": 1,
            "max_past_skew_seconds": 1,
            "retention_days": 1,
            "retention_days_by_severity": {"ERROR": 9000, "DEBUG": 2},
        },
        _past_and_expired,
    ),
    "few-templates": (
        {"template_max_clusters": 100, "template_similarity": 0.9},
        _beyond_max_clusters,
    ),
}


@pytest.mark.parametrize("name", OVERRIDES)
def test_settings(name):
    overrides, check = OVERRIDES[name]
    batch = compare(golden_records() + variation_records(), **overrides)
    assert check(batch), f"{name}: the inputs did not exercise the setting"


def test_a_stateful_hook_sees_records_in_message_order():
    records = golden_records() + realworld_records()[:1000]
    batch = compare(records, reset=_sampled.clear, hooks=[_hook("sampling_hook")])
    assert batch.tally.dropped


# ---------------------------------------------------------------------------------------------
# Generated objects with the keys the JSON parser gives roles to, and access-log lines. Drawn
# by hypothesis but built from the parsers' own vocabulary, not a generator of ours.

ALIASES = sorted(fields._ROLES)
OTHER_KEYS = ["user_id", "a.b", "", "http", "duration_ms", "x" * 40, "otlp"]
LEVEL_WORDS = ["info", "INFO", "warn", "Warning", "error", "E", "crit", "debug", "trace", "50"]
TIMES = [
    "2024-01-02T03:04:05.123Z",
    "2024-01-02T08:34:05.000001+05:30",
    "2024-01-02 03:04:05,123",
    "1704164645",
    "not a time",
]
SCALARS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(LEVEL_WORDS + TIMES),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**64, 2**64 + 1, -(2**63) - 1, 1704164645, 1704164645123, 10**19]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-7, 0.5, -0.0, 1704164645.5, 1e300]),
    st.booleans(),
    st.none(),
)
JSON_KEYS = st.one_of(st.sampled_from(ALIASES), st.sampled_from(OTHER_KEYS), st.text(max_size=6))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(JSON_KEYS, inner, max_size=3)
    ),
    max_leaves=6,
)
JSON_OBJECTS = st.dictionaries(JSON_KEYS, VALUES, max_size=8).map(
    # The standard library writes integers beyond 64 bits, as some producers do.
    lambda obj: json.dumps(obj).encode()
)

_TOKEN = st.text(string.ascii_letters + string.digits + ".-_:", min_size=1, max_size=12)
_QUOTED = st.text(string.printable.replace("\n", "").replace("\r", ""), max_size=30).map(
    lambda s: s.replace("\\", "\\\\").replace('"', '\\"')
)
_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "curl/8.4.0",
    "kube-probe/1.29",
    "-",
]


@st.composite
def access_lines(draw: st.DrawFn) -> bytes:
    """Common and combined lines, with nginx's request time or Apache's %D, or not."""
    client = draw(st.sampled_from(["127.0.0.1", "2001:db8::8a2e:370:7334", "web-1"]))
    ident, user = draw(st.sampled_from(["-", "id"])), draw(st.sampled_from(["-", "frank"]))
    day = draw(st.integers(1, 31))
    month = draw(st.sampled_from(["Jan", "Feb", "Oct", "Dec", "Foo"]))
    year = draw(st.integers(1999, 2030))
    clock = draw(st.sampled_from(["13:55:36", "00:00:00", "23:59:59.123456"]))
    zone = draw(st.sampled_from(["+0000", "-0700", "+0530", ""]))
    method = draw(st.sampled_from(["GET", "POST", "HEAD", "\\x16\\x03"]))
    target = draw(st.sampled_from(["/", "/search?q=logs&page=2", "/a b", "-"]))
    protocol = draw(st.sampled_from(["HTTP/1.0", "HTTP/1.1", "HTTP/2.0", ""]))
    request = draw(st.one_of(st.just(f"{method} {target} {protocol}".strip()), _QUOTED))
    status = draw(st.sampled_from(["200", "304", "404", "502", "-", "20"]))
    size = draw(st.sampled_from(["0", "2326", "-"]))
    line = f'{client} {ident} {user} [{day:02d}/{month}/{year}:{clock} {zone}] "{request}" '
    line += f"{status} {size}"
    if draw(st.booleans()):  # combined
        referer = draw(st.one_of(st.just("-"), _QUOTED))
        agent = draw(st.one_of(st.sampled_from(_AGENTS), _QUOTED))
        line += f' "{referer}" "{agent}"'
        if draw(st.booleans()):
            line += f' "{draw(st.sampled_from(["-", "10.0.0.1, 10.0.0.2"]))}"'
    duration = draw(st.sampled_from(["", "0.250", "0.000", "250000", "12"]))
    if duration:
        line += f" {duration}"
    if draw(st.booleans()):
        line += f" {draw(_TOKEN)}"
    return line.encode()


def _messages(values: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[Message]]:
    return st.lists(
        st.builds(
            Message,
            values,
            key=st.sampled_from(MESSAGE_KEYS),
            timestamp_ms=st.sampled_from([NOW_MS, PAST_MS]),
        ),
        min_size=1,
        max_size=12,
    )


_GENERATED = hypothesis_settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@_GENERATED
@given(_messages(JSON_OBJECTS))
def test_generated_json_objects(messages):
    compare(consumer_records(messages))


@_GENERATED
@given(_messages(access_lines()))
def test_generated_access_lines(messages):
    compare(consumer_records(messages))


# ---------------------------------------------------------------------------------------------
# The comparison can fail: a columnar step changed in one place is reported by the column.


def _tampered(change: Callable[[Batch], None]) -> Callable[..., Callable[..., Batch]]:
    real = columnar.prepare_step

    def prepare_step(settings, ingestor, **options):
        step = real(settings, ingestor, **options)

        def tampered(records):
            batch = step(records)
            change(batch)
            return batch

        return tampered

    return prepare_step


def _set(column: str, row: int, new: Callable[[Any], object]) -> Callable[[Batch], None]:
    def change(batch: Batch) -> None:
        rows = batch.log_rows.rows()
        values = list(rows[row])
        at = LOG_COLUMNS.index(column)
        values[at] = new(values[at])
        rows[row] = tuple(values)

    return change


def _drop_dead_letter(batch: Batch) -> None:
    del batch.dead_letters[0]


def _count_format(batch: Batch) -> None:
    batch.tally.formats["json"] += 1


TAMPERINGS = {
    "body": (_set("Body", 3, lambda body: body + " "), ["column 'Body'", "row 3"]),
    "attribute-order": (
        _set("LogAttributes", 3, lambda attrs: dict(reversed(attrs.items()))),
        ["column 'LogAttributes'", "row 3", "another order"],
    ),
    "severity-type": (
        _set("SeverityNumber", 3, lambda number: Severity(number)),
        ["column 'SeverityNumber'", "row 3", "Severity"],
    ),
    "flags": (_set("IngestFlags", 3, lambda flags: [*flags, "x"]), ["column 'IngestFlags'"]),
    "dead-letter": (_drop_dead_letter, ["number of dead letters"]),
    "tally": (_count_format, ["tally.formats"]),
}


# Row 3 has attributes whose order can change.
TAMPERED_INPUT = [
    *golden_lines("json")[:3],
    b'{"msg": "m", "a": "1", "b": "2", "c": "3"}',
    *golden_lines("json")[3:6],
    b"",
    b"x",
]


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_difference_is_reported_by_column_and_row(monkeypatch, tampering):
    change, expected = TAMPERINGS[tampering]
    records = consumer_records(Message(line) for line in TAMPERED_INPUT)
    compare(records)  # untouched, the same
    monkeypatch.setattr(columnar, "prepare_step", _tampered(change))
    with pytest.raises(AssertionError) as failure:
        compare(records)
    for text in expected:
        assert text in str(failure.value)
    assert "per_record=" in str(failure.value) and "columnar=" in str(failure.value)


def test_a_misspelt_setting_is_refused_rather_than_ignored():
    with pytest.raises(TypeError, match="enricher"):
        compare([], enricher=[])
