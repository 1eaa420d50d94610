"""One raw message → LogRecord or DeadLetter, with enrichment from the Kafka context."""

from __future__ import annotations

import pytest

from pipeline.ingest import Ingestor
from pipeline.settings import Settings
from schemas.records import DeadLetter, LogRecord, Severity

SETTINGS = Settings(max_body_bytes=1024)


def process(value: bytes, topic: str = "logs.raw", key: bytes | None = None,
            headers: object = (), timestamp_ms: int = 1_700_000_000_000):
    ingestor = Ingestor(SETTINGS)
    message = ingestor.message(topic, 2, 41, timestamp_ms, value, key, headers)
    return ingestor.process(message)


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

    monkeypatch.setattr(parsing, "parse", explode)
    dead = process(b"anything")
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "parser_error" and "boom" in dead.detail


def test_dead_letter_json_carries_binary_raw_as_base64():
    import base64

    import orjson

    dead = DeadLetter(reason="empty", detail="d", raw=b"\xff\x00", topic="t", partition=0,
                      offset=1, timestamp_ms=2)
    assert base64.b64decode(orjson.loads(dead.to_json())["raw"]) == b"\xff\x00"
