"""One raw message → LogRecord or DeadLetter, with enrichment from the Kafka context."""

from __future__ import annotations

import pytest

from pipeline.ingest.ingestor import Ingestor
from pipeline.settings import Settings
from schemas.records import DeadLetter, LogRecord, Severity

SETTINGS = Settings(max_body_bytes=1024)


def process_all(
    value: bytes,
    topic: str = "logs.raw",
    key: bytes | None = None,
    headers: object = (),
    timestamp_ms: int = 1_700_000_000_000,
    settings: Settings = SETTINGS,
):
    ingestor = Ingestor(settings)
    message = ingestor.message(topic, 2, 41, timestamp_ms, value, key, headers)
    return ingestor.process(message)


def process(value: bytes, **kw):
    (outcome,) = process_all(value, **kw)
    return outcome


@pytest.mark.parametrize("value", [b"", b"   ", b"\n\r\n"])
def test_empty_messages_are_dead_lettered_with_coordinates(value):
    dead = process(value)
    assert isinstance(dead, DeadLetter)
    assert (dead.reason, dead.topic, dead.partition, dead.offset) == ("empty", "logs.raw", 2, 41)


def test_missing_time_takes_kafka_time_and_is_flagged():
    record = process(b"plain line without time", timestamp_ms=1_700_000_000_123)
    assert isinstance(record, LogRecord)
    assert record.timestamp_ns == 1_700_000_000_123_000_000
    assert "time_missing" in record.flags


def test_service_comes_from_record_then_header_then_key_then_topic_suffix():
    assert process(b'{"msg": "x", "service": "api"}', key=b"k").service == "api"
    assert process(b"x", key=b"k", headers=[("service", b"h")]).service == "h"
    assert process(b"x", key=b"k").service == "k"
    assert process(b"x", topic="logs.raw.billing").service == "billing"
    assert process(b"x").service == "unknown"


def test_oversize_body_is_truncated_and_flagged():
    record = process(b"INFO " + "é".encode() * 5000)
    assert isinstance(record, LogRecord)
    assert len(record.body.encode()) <= SETTINGS.max_body_bytes
    assert "truncated" in record.flags
    assert record.attributes["logweir.original_bytes"] == str(5 + 2 * 5000)


def test_invalid_utf8_is_kept_and_flagged():
    record = process(b"ERROR bad \xff byte")
    assert isinstance(record, LogRecord)
    assert "invalid_utf8" in record.flags and record.severity is Severity.ERROR


def test_unknown_forced_format_is_dead_lettered():
    dead = process(b"x", headers={"format": b"nope"})
    assert isinstance(dead, DeadLetter) and dead.reason == "bad_format_header"


def test_a_parser_exception_becomes_a_dead_letter(monkeypatch):
    from pipeline import parsing

    def explode(line, forced_format=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(parsing, "parse", explode)  # the ingestor looks it up per call
    dead = process(b"anything")
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "parser_error" and "boom" in dead.detail


def test_dead_letter_json_carries_binary_raw_as_base64():
    import base64

    import orjson

    dead = DeadLetter(
        reason="empty",
        detail="d",
        raw=b"\xff\x00",
        topic="t",
        partition=0,
        offset=1,
        timestamp_ms=2,
    )
    assert base64.b64decode(orjson.loads(dead.to_json())["raw"]) == b"\xff\x00"


def test_ndjson_is_split_into_events_but_a_traceback_is_not():
    ndjson = b'{"msg": "a"}\n{"msg": "b"}\n\n{"msg": "c"}\n'
    assert [r.body for r in process_all(ndjson)] == ["a", "b", "c"]
    pretty = b'{\n  "msg": "one event",\n  "level": "info"\n}'
    assert [r.body for r in process_all(pretty)] == ["one event"]
    traceback = (
        b"ERROR boom\nTraceback (most recent call last):\n  File \"x\", line 1\nKeyError: 'k'"
    )
    assert len(process_all(traceback)) == 1


def test_framing_header_and_setting():
    lines = b"first line\nsecond line"
    assert len(process_all(lines)) == 1
    assert len(process_all(lines, headers={"framing": b"lines"})) == 2
    assert len(process_all(lines, settings=Settings(framing="lines"))) == 2
    assert len(process_all(b'{"a":1}\n{"a":2}', headers={"framing": b"message"})) == 1
    (dead,) = process_all(lines, headers={"framing": b"sideways"})
    assert isinstance(dead, DeadLetter) and dead.reason == "bad_framing_header"


def test_topic_format_setting_forces_a_parser():
    settings = Settings(topic_formats={"logs.raw.kv": "logfmt"})
    record = process(b"level=warn msg=hello", topic="logs.raw.kv", settings=settings)
    assert record.format == "logfmt" and record.severity is Severity.WARN


def test_unknown_plug_in_names_in_settings_stop_start_up():
    from pipeline.errors import SettingsError

    with pytest.raises(SettingsError, match=r"LOGWEIR_TOPIC_FORMATS\['logs.raw.x'\] names unknown"):
        Ingestor(Settings(topic_formats={"logs.raw.x": "xml"}))
    with pytest.raises(SettingsError, match="LOGWEIR_ENRICHERS names unknown enricher 'geoip'"):
        Ingestor(Settings(enrichers=["geoip"]))


def test_host_header_and_skew_flags():
    record = process(b"x", headers={"host": b"web-1"})
    assert record.host == "web-1"
    future = process(b'{"msg": "x", "ts": 1700000900}', timestamp_ms=1_700_000_000_000)
    past = process(b'{"msg": "x", "ts": 1600000000}', timestamp_ms=1_700_000_000_000)
    assert "time_future" in future.flags and "time_past" in past.flags
    assert future.timestamp_ns == 1_700_000_900 * 10**9  # flagged, not changed


def test_enricher_order_is_a_setting():
    settings = Settings(enrichers=["time", "service"])
    record = process(b"x" * 70000, settings=settings)
    assert "truncated" not in record.flags and record.template == ""


def keep_loud(record):
    return record if record.severity >= Severity.WARN else None


def tag(record):
    record.attributes["team"] = "core"
    return record


def explode_hook(record):
    raise KeyError("nope")


def test_hooks_enrich_drop_or_fail_into_dead_letters():
    from pipeline.ingest.ingestor import Dropped

    settings = Settings(hooks=[f"{__name__}:keep_loud", f"{__name__}:tag"])
    kept = process(b"ERROR disk full", settings=settings)
    assert kept.attributes["team"] == "core"
    dropped = process(b"DEBUG chatter", settings=settings)
    assert dropped == Dropped(f"{__name__}:keep_loud")
    dead = process(b"x", settings=Settings(hooks=[f"{__name__}:explode_hook"]))
    assert isinstance(dead, DeadLetter) and dead.reason == "hook_error"
    assert "explode_hook" in dead.detail and "KeyError" in dead.detail


def test_a_hook_that_cannot_be_loaded_stops_start_up():
    from pipeline.errors import SettingsError

    with pytest.raises(SettingsError, match="cannot be loaded"):
        Ingestor(Settings(hooks=["no.such.module:fn"]))
    with pytest.raises(SettingsError, match="module:function"):
        Ingestor(Settings(hooks=["just_a_name"]))


def test_records_older_than_their_retention_are_stored_at_kafka_time():
    kafka_ms = 1_700_000_000_000
    day = 86_400
    ancient = process(b'{"msg": "x", "ts": 5}', timestamp_ms=kafka_ms)
    assert ancient.timestamp_ns == kafka_ms * 1_000_000 and "time_expired" in ancient.flags
    assert ancient.attributes["logweir.original_time_ns"] == str(5 * 10**9)
    settings = Settings(retention_days=30, retention_days_by_severity={"ERROR": 90})
    old_error = process(
        b'{"msg": "x", "level": "error", "ts": %d}' % (1_700_000_000 - 60 * day),
        timestamp_ms=kafka_ms,
        settings=settings,
    )
    old_info = process(
        b'{"msg": "x", "level": "info", "ts": %d}' % (1_700_000_000 - 60 * day),
        timestamp_ms=kafka_ms,
        settings=settings,
    )
    assert "time_expired" not in old_error.flags
    assert old_error.timestamp_ns == (1_700_000_000 - 60 * day) * 10**9
    assert "time_expired" in old_info.flags
