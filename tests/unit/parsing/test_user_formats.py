"""User formats from YAML: grok and regex patterns, columns and attributes, time layouts, how a
format is chosen, the errors a bad file gets, and safety on hostile input."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import parsing
from pipeline.errors import SettingsError
from pipeline.ingest.ingestor import Ingestor
from pipeline.parsing import user_formats
from pipeline.parsing.registry import FALLBACK, Format, Registry
from pipeline.parsing.user_formats import grok, grok_safety
from pipeline.settings import Settings
from schemas.records import LogRecord, Severity
from tests.support import golden

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "deploy" / "formats" / "formats.example.yaml"
JAVA = (
    r"%{TIMESTAMP_ISO8601:time} %{LOGLEVEL:level} \[%{DATA:thread}\] %{JAVACLASS:logger}: "
    r"%{GREEDYDATA:message}"
)
PG_LINE = (
    b'2024-03-05 14:02:11.123 UTC [12346] app@shop/billing ERROR:  relation "orders" does not '
    b"exist at character 15"
)
HAPROXY_LINE = (
    b"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] "
    b"http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "
    b'"GET /index.html HTTP/1.1"'
)


def ns(iso: str) -> int:
    from datetime import datetime

    when = datetime.fromisoformat(iso)
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000


def write(tmp_path: Path, text: str, name: str = "formats.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def compile_one(tmp_path: Path, spec: str, name: str = "mine") -> user_formats.UserFormat:
    """One format from the YAML lines of its definition (indented under its name)."""
    body = "\n".join("    " + line for line in spec.strip("\n").splitlines())
    (fmt,) = user_formats.read(write(tmp_path, f"formats:\n  {name}:\n{body}\n"))
    return fmt


def problems(tmp_path: Path, text: str, reserved: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(user_formats.FormatsFileError) as caught:
        user_formats.read(write(tmp_path, text), reserved)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture
def registry() -> Iterator[Registry]:
    """The real registry (built-in formats), with user formats removed again afterwards."""
    formats = parsing.load()
    yield formats
    user_formats.install(None, formats)


# --- the shipped example ------------------------------------------------------------------------


def test_the_example_file_is_valid_and_its_examples_parse():
    builtin = parsing.load().parsers
    compiled = {fmt.name: fmt for fmt in user_formats.read(EXAMPLE, reserved=builtin)}
    assert set(compiled) == {"postgresql", "haproxy_http", "log4j_thread", "redis"}

    record = compiled["postgresql"].parse(PG_LINE)
    assert record is not None
    assert (record.format, record.timestamp_ns) == (
        "postgresql",
        ns("2024-03-05T14:02:11.123+00:00"),
    )
    assert (record.level, record.severity, record.service) == ("ERROR", Severity.ERROR, "billing")
    assert record.body == 'relation "orders" does not exist at character 15'
    assert record.attributes == {"process.pid": "12346", "db.user": "app", "db.name": "shop"}
    checkpoint = compiled["postgresql"].parse(
        b"2024-03-05 14:05:00.001 UTC [12340] LOG:  checkpoint starting: time"
    )
    assert checkpoint is not None and checkpoint.severity == Severity.INFO
    assert (checkpoint.service, checkpoint.attributes) == ("", {"process.pid": "12340"})

    proxy = compiled["haproxy_http"].parse(HAPROXY_LINE)
    assert proxy is not None
    assert proxy.timestamp_ns == ns("2009-02-06T12:14:14.655+00:00")
    assert (proxy.service, proxy.host, proxy.body) == (
        "haproxy",
        "localhost",
        HAPROXY_LINE.decode(),
    )
    assert proxy.attributes["http.request.line"] == "GET /index.html HTTP/1.1"
    assert proxy.attributes["haproxy.request_headers"] == "1wt.eu"
    assert "haproxy.response_headers" not in proxy.attributes  # `{}`: empty, kept nowhere
    assert "syslog.time" not in proxy.attributes  # dropped

    redis = compiled["redis"].parse(b"1:M 05 Mar 2024 14:02:11.124 # WARNING Memory overcommit")
    assert redis is not None
    assert (redis.severity, redis.level, redis.attributes["redis.role"]) == (
        Severity.WARN,
        "#",
        "M",
    )


def test_the_readme_example_is_a_valid_formats_file(tmp_path):
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```yaml\npatterns:") + len("```yaml\n")
    (fmt,) = user_formats.read(
        write(tmp_path, readme[start : readme.index("```", start)]), parsing.load().parsers
    )
    record = fmt.parse(PG_LINE)
    assert record is not None and (record.service, record.severity) == ("billing", Severity.ERROR)


# --- patterns -----------------------------------------------------------------------------------


def test_a_grok_pattern_fills_columns_and_attributes(tmp_path):
    fmt = compile_one(tmp_path, f"pattern: '{JAVA}'")
    record = fmt.parse(b"2024-01-02 03:04:05,123 WARN [main thread] com.example.Foo: disk 91% full")
    assert record == LogRecord(
        body="disk 91% full",
        format="mine",
        timestamp_ns=ns("2024-01-02T03:04:05.123+00:00"),
        severity=Severity.WARN,
        level="WARN",
        logger="com.example.Foo",
        attributes={"thread": "main thread"},
    )
    assert fmt.parse(b"not a java line") is None


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?<time>\S+) (?<client.address>[\d.]+) (?<message>.*)",  # Oniguruma / Fluent Bit
        r"(?P<time>\S+) (?P<client.address>[\d.]+) (?P<message>.*)",  # Python
        r"%{TIMESTAMP_ISO8601:time} %{IPV4:[client][address]} %{GREEDYDATA:message}",  # ECS-style
    ],
)
def test_named_group_regexes_and_grok_give_the_same_record(tmp_path, pattern):
    fmt = compile_one(tmp_path, f"pattern: '{pattern}'")
    record = fmt.parse(b"2024-01-02T03:04:05Z 10.1.2.3 hello")
    assert record is not None
    assert (record.timestamp_ns, record.body) == (ns("2024-01-02T03:04:05+00:00"), "hello")
    assert record.attributes == {"client.address": "10.1.2.3"}


def test_unnamed_groups_and_back_references_of_a_regex_are_left_alone(tmp_path):
    fmt = compile_one(tmp_path, r"pattern: '(\w+)=(?<quote>[\x22\x27])(?<value>.*?)(?P=quote)(.*)'")
    record = fmt.parse(b"key='a b' rest")
    assert record is not None and record.attributes == {"quote": "'", "value": "a b"}


def test_one_name_in_several_alternatives_takes_the_one_that_matched(tmp_path):
    fmt = compile_one(
        tmp_path,
        r"pattern: '(?:%{SYSLOGTIMESTAMP:time}|%{TIMESTAMP_ISO8601:time}) %{GREEDYDATA:message}'",
    )
    iso = fmt.parse(b"2024-01-02T03:04:05Z up")
    assert iso is not None and iso.timestamp_ns == ns("2024-01-02T03:04:05+00:00")
    bsd = fmt.parse(b"Jan  2 03:04:05 up")
    assert bsd is not None and bsd.timestamp_ns > 0 and bsd.body == "up"


def test_custom_patterns_use_the_library_and_override_it(tmp_path):
    path = write(
        tmp_path,
        r"""
patterns:
  MYLEVEL: '(?:OK|KO)'
  WORD: '[a-z]+'          # overrides the library's WORD in this file
formats:
  mine:
    pattern: '%{MYLEVEL:state} %{WORD:word}%{GREEDYDATA:rest}'
""",
    )
    (fmt,) = user_formats.read(path)
    record = fmt.parse(b"KO abcDEF")
    assert record is not None and record.attributes == {"state": "KO", "word": "abc", "rest": "DEF"}


LIBRARY_SAMPLES = {
    "WORD": "hello_1",
    "NOTSPACE": "a/b:c",
    "INT": "-42",
    "NUMBER": "3.14",
    "POSINT": "8080",
    "IP": "2001:db8::ff00:42:8329",
    "IPV4": "192.168.0.1",
    "IPV6": "fe80::1%eth0",
    "HOSTNAME": "api-1.example.com",
    "IPORHOST": "db.internal",
    "HOSTPORT": "10.0.0.1:5432",
    "LOGLEVEL": "Warning",
    "TIMESTAMP_ISO8601": "2024-01-02T03:04:05.123+02:00",
    "HTTPDATE": "10/Oct/2000:13:55:36 -0700",
    "SYSLOGTIMESTAMP": "Jan  2 03:04:05",
    "DATESTAMP": "01/02/2024 03:04:05",
    "UUID": "123e4567-e89b-12d3-a456-426614174000",
    "PATH": "/var/log/nginx/access.log",
    "URIPATHPARAM": "/search?q=logs&page=2",
    "URI": "https://user@example.com:8443/a/b?c=d",
    "QS": r'"say \"hi\""',
    "JAVACLASS": "org.apache.kafka.Consumer",
    "EMAILADDRESS": "ops@example.com",
    "MAC": "00:1a:2b:3c:4d:5e",
    "USERNAME": "jane.doe",
    "SYSLOGBASE": "Jan  2 03:04:05 web1 sshd[811]:",
}


@pytest.mark.parametrize(("name", "sample"), LIBRARY_SAMPLES.items())
def test_library_patterns_match_their_kind_of_value_whole(name, sample):
    regex = re.compile(f"(?:{grok.expand('%{' + name + '}').regex})$", user_formats.FLAGS)
    assert regex.match(sample), (name, sample)


@pytest.mark.parametrize("name", sorted(grok.LIBRARY))
def test_every_library_pattern_compiles_and_cannot_backtrack_exponentially(name):
    regex = grok.expand("%{" + name + "}").regex
    re.compile(regex, user_formats.FLAGS)
    assert grok_safety.problems(regex, user_formats.FLAGS) == []


def test_syslogbase_names_its_parts_after_the_columns(tmp_path):
    fmt = compile_one(tmp_path, "pattern: '%{SYSLOGBASE} %{GREEDYDATA:message}'")
    record = fmt.parse(b"Jan  2 03:04:05 web1 sshd[811]: Accepted publickey for root")
    assert record is not None
    assert (record.host, record.service, record.body) == (
        "web1",
        "sshd",
        "Accepted publickey for root",
    )
    assert record.attributes == {"process.pid": "811"}


# --- columns and attributes ---------------------------------------------------------------------


def test_columns_attributes_and_drop_route_groups(tmp_path):
    fmt = compile_one(
        tmp_path,
        r"""
pattern: '(?<stamp>\S+) (?<app>\S+) (?<node>\S+) (?<span>\w+) (?<noise>\S+) (?<ip>\S+) (?<body>.*)'
columns: {time: stamp, service: app, host: node, span_id: span}
attributes: {client.address: ip}
drop: [noise]
""",
    )
    record = fmt.parse(b"2024-01-02T03:04:05Z billing web-3 00f067aa0ba902b7 x 10.0.0.9 paid")
    assert record is not None
    assert (record.timestamp_ns, record.service, record.host, record.span_id, record.body) == (
        ns("2024-01-02T03:04:05+00:00"),
        "billing",
        "web-3",
        "00f067aa0ba902b7",
        "paid",
    )
    assert record.attributes == {"client.address": "10.0.0.9"}


def test_without_a_message_group_the_body_is_the_line(tmp_path):
    fmt = compile_one(tmp_path, r"pattern: '%{IP:client.address} %{INT:status}'")
    record = fmt.parse(b"10.0.0.1 404 and the rest")
    assert record is not None and record.body == "10.0.0.1 404 and the rest"
    assert record.attributes == {"client.address": "10.0.0.1", "status": "404"}


def test_a_traceback_in_the_message_becomes_exception_attributes(tmp_path):
    fmt = compile_one(tmp_path, f"pattern: '{JAVA}'")
    record = fmt.parse(
        b"2024-01-02 03:04:05,123 ERROR [main] com.example.Foo: failed\n"
        b"java.lang.IllegalStateException: boom\n\tat com.example.Foo.run(Foo.java:1)"
    )
    assert record is not None and record.body == "failed"
    assert record.attributes["exception.type"] == "java.lang.IllegalStateException"


def test_severity_map_comes_before_the_usual_vocabulary(tmp_path):
    fmt = compile_one(
        tmp_path,
        r"""
pattern: '%{WORD:level} %{GREEDYDATA:message}'
severity: {LOG: INFO, Fatal: ERROR}
""",
    )
    for line, expected in [
        (b"LOG x", Severity.INFO),
        (b"log x", Severity.INFO),
        (b"Fatal x", Severity.ERROR),
        (b"warning x", Severity.WARN),
        (b"gibberish x", Severity.UNSPECIFIED),
    ]:
        record = fmt.parse(line)
        assert record is not None and record.severity == expected, line


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "value", "expected"),
    [
        ("auto", "2024-03-05T14:02:11.123456789Z", 1_709_647_331_123_456_789),
        ("auto", "1709647331", "2024-03-05T14:02:11+00:00"),
        ("auto", "1709647331123", "2024-03-05T14:02:11.123+00:00"),
        ("auto", "05/Mar/2024:14:02:11 +0100", "2024-03-05T13:02:11+00:00"),
        ("iso8601", "2024-03-05 14:02:11,5", "2024-03-05T14:02:11.5+00:00"),
        ("httpdate", "05/Mar/2024:14:02:11.250 -0700", "2024-03-05T21:02:11.25+00:00"),
        ("epoch_ms", "1709647331123.5", 1_709_647_331_123_500_000),
        ("epoch_s", "1709647331.25", "2024-03-05T14:02:11.25+00:00"),
        ("'%d.%m.%Y %H:%M:%S %z'", "05.03.2024 14:02:11 +0200", "2024-03-05T12:02:11+00:00"),
        ("'%y%m%d %H%M%S'", "240305 140211", "2024-03-05T14:02:11+00:00"),
        ("'%Y%m%d-%H:%M:%S:%f'", "20240305-14:02:11:123", "2024-03-05T14:02:11.123+00:00"),
    ],
)
def test_time_layouts(tmp_path, layout, value, expected):
    fmt = compile_one(tmp_path, f"pattern: '(?<time>[^|]+)\\|'\ntime_format: {layout}")
    record = fmt.parse(f"{value}|".encode())
    assert record is not None
    assert record.timestamp_ns == (expected if isinstance(expected, int) else ns(expected))


def test_zone_less_times_take_the_formats_timezone(tmp_path):
    offset = compile_one(tmp_path, "pattern: '(?<time>.+)'\ntimezone: '+05:30'")
    record = offset.parse(b"2024-03-05 14:02:11")
    assert record is not None and record.timestamp_ns == ns("2024-03-05T08:32:11+00:00")
    paris = compile_one(
        tmp_path, "pattern: '(?<time>.+)'\ntime_format: '%Y-%m-%d %H:%M'\ntimezone: Europe/Paris"
    )
    winter, summer = paris.parse(b"2024-01-15 12:00"), paris.parse(b"2024-07-15 12:00")
    assert winter is not None and winter.timestamp_ns == ns("2024-01-15T11:00:00+00:00")
    assert summer is not None and summer.timestamp_ns == ns("2024-07-15T10:00:00+00:00")
    # A zone written in the line wins over the format's.
    zoned = offset.parse(b"2024-03-05 14:02:11+01:00")
    assert zoned is not None and zoned.timestamp_ns == ns("2024-03-05T13:02:11+00:00")


def test_a_time_without_a_year_takes_the_year_nearest_now(tmp_path):
    fmt = compile_one(tmp_path, "pattern: '(?<time>.+)'\ntime_format: '%b %d %H:%M:%S'")
    now = time.gmtime()
    line = time.strftime("%b %d %H:%M:%S", now).encode()
    record = fmt.parse(line)
    assert record is not None
    assert abs(record.timestamp_ns / 1e9 - time.mktime(now) + time.timezone) < 2
    leap = fmt.parse(b"Feb 29 12:00:00")  # parses in any year; lands in the nearest leap year
    assert leap is not None and time.gmtime(leap.timestamp_ns // 10**9).tm_mday == 29


def test_a_time_of_day_alone_takes_the_nearest_day(tmp_path):
    fmt = compile_one(
        tmp_path, "pattern: '(?<time>\\S+) (?<message>.*)'\ntime_format: '%H:%M:%S.%f'"
    )
    stamp = time.strftime("%H:%M:%S", time.gmtime()).encode()
    record = fmt.parse(stamp + b".250 started")
    assert record is not None and abs(record.timestamp_ns / 1e9 - time.time()) < 5


def test_an_unreadable_time_is_kept_as_an_attribute_and_left_to_the_kafka_time(tmp_path):
    fmt = compile_one(tmp_path, "pattern: '(?<time>\\S+) (?<message>.*)'\ntime_format: iso8601")
    record = fmt.parse(b"yesterday-ish hello")
    assert record is not None
    assert (record.timestamp_ns, record.attributes) == (0, {"time_unparsed": "yesterday-ish"})


# --- how a format is chosen -----------------------------------------------------------------------


def test_formats_are_chosen_per_topic_and_per_header_and_a_mismatch_falls_back(registry, tmp_path):
    path = write(tmp_path, f"formats:\n  app_java:\n    pattern: '{JAVA}'\n")
    settings = Settings(formats_file=path, topic_formats={"logs.raw.app": "app_java"})
    ingestor = Ingestor(settings)
    line = b"2024-01-02 03:04:05,123 INFO [main] com.example.Foo: up"

    def one(topic: str, headers: object = ()) -> LogRecord:
        (outcome,) = ingestor.process(
            ingestor.message(topic, 0, 1, 1_704_164_645_000, line, None, headers)
        )
        assert isinstance(outcome, LogRecord)
        return outcome

    assert one("logs.raw.app").format == "app_java"
    assert one("logs.raw", [("format", b"app_java")]).format == "app_java"
    assert one("logs.raw").format != "app_java"  # no detect: never guessed
    (mismatch,) = ingestor.process(
        ingestor.message("logs.raw.app", 0, 2, 1_704_164_645_000, b"level=info msg=hi", None, ())
    )
    assert isinstance(mismatch, LogRecord)
    assert (mismatch.format, "format_mismatch" in mismatch.flags) == ("logfmt", True)


def test_detection_offers_lines_by_first_bytes_and_guard_before_the_builtins(registry):
    user_formats.install(EXAMPLE, registry)
    assert parsing.parse(HAPROXY_LINE).format == "haproxy_http"
    other = b"Feb  6 12:14:14 localhost sshd[811]: Accepted publickey for root"
    assert parsing.parse(other).format == "syslog"  # the guard wants `haproxy[`
    order = dict(registry.order())
    assert order[b"F"][0] == "haproxy_http" and "haproxy_http" not in order.get(b"1", [])


def test_detect_true_claims_the_first_characters_the_pattern_can_start_with(registry, tmp_path):
    path = write(
        tmp_path,
        """
formats:
  stamped:
    pattern: '%{TIMESTAMP_ISO8601:time} <%{WORD:kind}> %{GREEDYDATA:message}'
    detect: true
""",
    )
    (fmt,) = user_formats.install(path, registry)
    (claim,) = fmt.claims
    assert (claim.first, claim.rank, claim.guard) == (b"0123456789", 5, None)
    assert parsing.parse(b"2024-01-02T03:04:05Z <audit> login").format == "stamped"
    assert parsing.parse(b"2024-01-02T03:04:05Z plain").format != "stamped"


def test_reading_the_file_again_replaces_the_user_formats(registry, tmp_path):
    first = write(tmp_path, "formats:\n  one:\n    pattern: '(?<message>.*)'\n", "a.yaml")
    second = write(tmp_path, "formats:\n  two:\n    pattern: '(?<message>.*)'\n", "b.yaml")
    Ingestor(Settings(formats_file=first))
    assert "one" in registry.parsers
    Ingestor(Settings(formats_file=second))
    assert "one" not in registry.parsers and "two" in registry.parsers
    Ingestor(Settings())
    assert "two" not in registry.parsers


def test_a_topic_may_name_a_user_format_only_when_the_file_has_it(registry, tmp_path):
    path = write(tmp_path, "formats:\n  mine:\n    pattern: '(?<message>.*)'\n")
    Ingestor(Settings(formats_file=path, topic_formats={"t": "mine"}))
    with pytest.raises(SettingsError, match=r"LOGWEIR_TOPIC_FORMATS\['t'\] names unknown format"):
        Ingestor(Settings(topic_formats={"t": "mine"}))


def test_a_bad_file_stops_start_up_with_one_line(registry, tmp_path):
    path = write(
        tmp_path, "formats:\n  a:\n    pattern: '%{NOPE:x}'\n  b:\n    pattern: '(unclosed'\n"
    )
    with pytest.raises(SettingsError) as caught:
        Ingestor(Settings(formats_file=path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:3:14: formats.a.pattern: unknown grok pattern %{{NOPE}}")
    assert message.endswith(f"(and 1 more: `logweir formats check {path}` lists them)")


def test_a_registry_forgets_a_removed_format():
    formats = Registry()
    formats.add(Format("plain", lambda line: LogRecord(body="", format="plain"), FALLBACK))
    formats.add(Format("x", lambda line: LogRecord(body="", format="x"), ()))
    formats.remove("x")
    assert list(formats.parsers) == ["plain"]
    formats.add(Format("x", lambda line: None, ()))  # the name is free again


# --- problems in a file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("formats:\n  a:\n    pattern: [unclosed\n", r"formats.yaml:4:1: YAML: .*flow sequence"),
        (
            "formats:\n  a:\n    pattern: '(?<message>.*)'\n  a:\n    pattern: 'x(?<b>.)'\n",
            r"formats.yaml:4:3: formats.a: 'a' is given twice \(first on line 2\)",
        ),
        (
            "formats:\n  json:\n    pattern: '(?<message>.*)'\n",
            r"formats.yaml:2:3: formats.json: 'json' is a built-in format: choose another name",
        ),
        (
            "formats:\n  a:\n    patern: '(?<message>.*)'\n",
            r"formats.yaml:3:5: formats.a.patern: unknown key \(did you mean pattern\?\)",
        ),
        (
            "formats:\n  a:\n    pattern: '%{TIMESTAMP_ISO:time} %{GREEDYDATA:message}'\n",
            r"formats.yaml:3:14: formats.a.pattern: unknown grok pattern %\{TIMESTAMP_ISO\} "
            r"\(did you mean TIMESTAMP_ISO8601\?\) \(at character 1\)",
        ),
        (
            "patterns:\n  A: '%{B}'\n  B: '%{A}'\nformats:\n  a:\n    pattern: '%{A:x}'\n",
            r"patterns.A: grok pattern A refers to itself: A → B → A",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<message>.*)'\n    columns: {time: ts}\n",
            r"formats.yaml:4:21: formats.a.columns.time: the pattern has no group 'ts' "
            r"\(its groups: message\)",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<message>.*)'\n    columns: {stamp: message}\n",
            r"formats.a.columns.stamp: unknown column: one of time, level",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<message>.*)'\n    attributes: {x: mesage}\n",
            r"formats.a.attributes.x: the pattern has no group 'mesage' \(did you mean message\?\)",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<message>.*)'\n    drop: [nothing]\n",
            r"formats.a.drop.0: the pattern has no group 'nothing'",
        ),
        (
            "formats:\n  a:\n    pattern: 'ab (?<message>[a-z)+'\n",
            r"formats.a.pattern: does not compile as a regex: unterminated character set "
            r"\(at character 15\)",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<x>(\\w+\\s?)+)$'\n",
            r"formats.a.pattern: `\(\\w\+\\s\?\)\+` repeats a repetition .* exponentially",
        ),
        ("formats:\n  a:\n    pattern: '\\d+ \\w+'\n", r"formats.a.pattern: captures nothing"),
        (
            "formats:\n  a:\n    pattern: '(?<time>.*)'\n    time_format: '%Y-%Q'\n",
            r"formats.a.time_format: '%Y-%Q' is not a strptime layout it can read",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<time>.*)'\n    time_format: isoish\n",
            r"formats.a.time_format: 'isoish' is neither a strptime layout",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<time>.*)'\n    timezone: Mars/Olympus\n",
            r"formats.a.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<level>.*)'\n    severity: {LOG: LOUD}\n",
            r"formats.a.severity.LOG: unknown severity 'LOUD'",
        ),
        (
            "formats:\n  a:\n    pattern: '%{DATA:x} %{GREEDYDATA:message}'\n    detect: true\n",
            r"formats.a.detect: the pattern can start with any character: say which with `first:`",
        ),
        (
            "formats:\n  a:\n    pattern: '(?<message>.*)'\n    detect: {first: 'x', guard: '('}\n",
            r"formats.a.detect.guard: does not compile as a regex",
        ),
        (
            "formats:\n  a:\n    pattern: '%{INT:n} (?<message>.*)'\n    examples: ['x 1']\n",
            r"formats.yaml:4:16: formats.a.examples.0: does not match: the line does not match "
            r"the start of the pattern",
        ),
        ("patterns: {}\n", r"formats.yaml:1:1: formats: must map format names"),
        ("just text\n", r"formats.yaml:1:1: file: must be a mapping with `formats:`"),
    ],
)
def test_problems_name_file_line_format_and_field(tmp_path, text, expected):
    found = problems(tmp_path, text, reserved=("json", "text"))
    assert any(re.search(expected, problem) for problem in found), found
    assert all(problem.startswith(str(tmp_path / "formats.yaml")) for problem in found)


def test_every_problem_of_a_file_is_reported_not_only_the_first(tmp_path):
    found = problems(
        tmp_path,
        """
formats:
  a:
    pattern: '%{NOPE:x}'
  b:
    pattern: '(?<message>.*)'
    columns: {host: hostname}
  c:
    pattern: '(?<message>.*)'
""",
    )
    assert [p.split(": ", 2)[1] for p in found] == ["formats.a.pattern", "formats.b.columns.host"]


def test_a_missing_file_is_one_problem(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(user_formats.FormatsFileError) as caught:
        user_formats.read(path)
    (found,) = caught.value.problems
    assert str(found).startswith(f"{path}: file: cannot be read")


# --- hostile input --------------------------------------------------------------------------------

# Several unbounded repetitions: legal, and polynomial on a long line that almost matches.
SLOW = r"%{DATA:a} %{DATA:b} %{DATA:c} \[%{DATA:d}\] %{GREEDYDATA:message}"


def test_a_match_running_past_its_budget_passes_the_line_on(registry, tmp_path, caplog):
    path = write(tmp_path, f"formats:\n  slow:\n    pattern: '{SLOW}'\n")
    (fmt,) = user_formats.install(path, registry)
    hostile = b"x " * 20_000  # every space is a place to try; no `[` anywhere
    started = time.process_time()
    with caplog.at_level(logging.WARNING, "logweir.parsing"):
        record = parsing.parse(hostile, "slow")
    assert time.process_time() - started < 2  # unguarded this runs for hours
    assert record.format == "text" and record.flags == ["format_mismatch"]
    assert fmt.timeouts == 1
    assert "format 'slow': a line of 40000 characters took over 50 ms" in caplog.text
    ok = fmt.parse(b"a b c [d] e")
    assert ok is not None and ok.attributes["d"] == "d"


def test_a_match_outside_the_main_thread_runs_unguarded_but_still_answers(tmp_path):
    import threading

    fmt = compile_one(tmp_path, f"pattern: '{SLOW}'")
    found: list[LogRecord | None] = []
    worker = threading.Thread(target=lambda: found.append(fmt.parse(b"a b c [d] e")))
    worker.start()
    worker.join()
    assert found[0] is not None


@pytest.mark.parametrize(
    ("regex", "unsafe"),
    [
        (r"(a+)+b", True),
        (r"(\w+\s?)+$", True),
        (r"(?:.*?,)+x", True),
        (r"(?:a|ab)+c", True),
        (r"(?:\w+\.)*\w+", False),  # a separator the inner repetition cannot take
        (r'"(?:[^"\\]|\\.)*"', False),  # alternatives starting differently
        (r"(?>\w+\s?)+", False),  # atomic: gives nothing back
        (r"(\w++\s?)+", False),  # possessive
    ],
)
def test_exponential_shapes_are_refused_at_start_up(regex, unsafe):
    assert bool(grok_safety.problems(regex, user_formats.FLAGS)) == unsafe


FRAGMENTS = st.lists(
    st.one_of(
        st.sampled_from(
            [b" ", b"[", b"]", b":", b"  ", b"/", b'"', b"{", b"}", b"\n", b"\xff", b"-", b"."]
            + [b"2024-03-05 14:02:11.123 UTC ", b"[12346] ", b"app@shop/billing ", b"ERROR:  "]
            + [b"Feb  6 12:14:14 localhost haproxy[14389]: ", b"10.0.1.2:33317 ", b"1:M "]
            + [b"05 Mar 2024 14:02:11.124 # ", b"INFO [main] ", b"com.example.Foo: "]
        ),
        st.binary(max_size=8),
    ),
    max_size=40,
).map(b"".join)


@pytest.fixture(scope="module")
def example_formats() -> Iterator[list[str]]:
    formats = parsing.load()
    names = [fmt.name for fmt in user_formats.install(EXAMPLE, formats)]
    yield names
    user_formats.install(None, formats)


def _check(line: bytes, names: list[str]) -> None:
    for forced in (None, *names):
        record = parsing.parse(line, forced)
        assert isinstance(record, LogRecord)
        assert record.format in parsing.PARSERS
        assert record.timestamp_ns >= 0
        assert all(isinstance(v, str) for v in record.attributes.values())


@settings(max_examples=300, deadline=None)
@given(st.one_of(FRAGMENTS, st.binary(max_size=300)))
def test_fuzzed_lines_through_user_formats_never_raise(example_formats, line):
    _check(line, example_formats)


# The built-in formats' golden lines, damaged: what the never-raises tests feed the built-ins.
SAMPLES = golden.every_line()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(min_size=1, max_size=6))
def test_damaged_golden_lines_through_user_formats_never_raise(example_formats, sample, at, junk):
    at %= len(sample)
    _check(sample[:at] + junk + sample[at + len(junk) :], example_formats)


@pytest.mark.parametrize(
    "line",
    [
        PG_LINE[:40] + b" " * 1_000_000,
        HAPROXY_LINE[:60] + b"[" * 500_000,
        b"2024-03-05 14:02:11,123 INFO [" + b"] a: " * 200_000,
        b"1:M 05 Mar 2024 14:02:11.124 # " + b"\xff" * 1_000_000,
        b"\x00" * 1_000_000,
    ],
    ids=lambda line: repr(line[:16]),
)
def test_one_megabyte_lines_through_user_formats(example_formats, line):
    _check(line, example_formats)
