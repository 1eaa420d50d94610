"""Logging records as JSON land in the right LogRecord fields when the worker parses them."""

from __future__ import annotations

import logging
import sys

import orjson

from pipeline import parsing
from pipeline.shipping.layout import encode
from schemas.records import Severity


def record(
    msg: str, *args: object, level: int = logging.INFO, exc: bool = False, **extra: object
) -> logging.LogRecord:
    made = logging.getLogger("shop.checkout").makeRecord(
        "shop.checkout",
        level,
        "/srv/shop/checkout.py",
        42,
        msg,
        args,
        sys.exc_info() if exc else None,
        func="pay",
        extra=extra or None,
    )
    made.created = 1767323045.123456
    return made


def test_the_worker_reads_time_level_logger_service_host_and_body():
    parsed = parsing.detect(
        encode(record("paid %s", "order-7", level=logging.WARNING), "api", "web-1")
    )
    assert parsed.format == "json"
    assert parsed.body == "paid order-7"
    assert parsed.severity is Severity.WARN
    assert (parsed.logger, parsed.service, parsed.host) == ("shop.checkout", "api", "web-1")
    assert parsed.timestamp_ns == 1767323045123456000
    assert parsed.attributes["code.function"] == "pay"
    assert parsed.attributes["code.lineno"] == "42"
    assert parsed.attributes["code.namespace"] == "checkout"
    assert "process.pid" in parsed.attributes and "thread.name" in parsed.attributes


def test_the_time_is_utc_iso_with_microseconds():
    event = orjson.loads(encode(record("x"), "api", "h"))
    assert event["timestamp"].endswith(".123456Z")


def test_an_exception_becomes_type_message_and_stacktrace():
    try:
        raise KeyError("sku-1")
    except KeyError:
        parsed = parsing.detect(
            encode(record("lookup failed", level=logging.ERROR, exc=True), "api", "h")
        )
    assert parsed.attributes["exception.type"] == "KeyError"
    assert parsed.attributes["exception.message"] == "'sku-1'"
    assert parsed.attributes["exception.stacktrace"].startswith("Traceback (most recent call")
    assert parsed.attributes["exception.stacktrace"].endswith("KeyError: 'sku-1'")
    assert parsed.severity is Severity.ERROR


def test_extra_fields_are_attributes_and_never_take_over_a_column():
    parsed = parsing.detect(
        encode(
            record("x", order={"id": 7, "total": 9.5}, user="u1", service="spoofed", msg_id=3),
            "api",
            "h",
        )
    )
    assert parsed.service == "api"
    assert parsed.attributes["extra.service"] == "spoofed"
    assert parsed.attributes["order.id"] == "7"
    assert parsed.attributes["order.total"] == "9.5"
    assert parsed.attributes["user"] == "u1"


def test_values_json_cannot_hold_are_written_as_text():
    event = orjson.loads(encode(record("x", when={1, 2}.__class__, ids={1: "a"}), "api", "h"))
    assert event["when"] == "<class 'set'>"
    assert event["ids"] == {"1": "a"}
