"""Python logging → KafkaHandler → real broker → worker → rows in the real ClickHouse."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid

import pytest

from pipeline.shipping import KafkaHandler, operation
from tests.support.stack import wait_for

pytestmark = pytest.mark.integration


def _rows(clickhouse, where: str = "1"):  # type: ignore[no-untyped-def]
    return list(
        clickhouse.query(
            "SELECT SeverityText, SeverityNumber, ServiceName, Body, ScopeName, LogAttributes, "
            f"LogFormat, Timestamp FROM otel_logs WHERE {where} ORDER BY Timestamp"
        ).named_results()
    )


def test_logged_records_are_stored_with_their_fields(pipeline_settings, clickhouse, worker):
    logger = logging.getLogger(f"shop.checkout.{uuid.uuid4().hex[:6]}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = KafkaHandler("checkout-api", pipeline_settings)
    logger.addHandler(handler)
    try:
        logger.info("cart loaded")
        logger.warning("slow payment provider", extra={"provider": "acme", "latency_ms": 812})
        try:
            {}["sku-42"]
        except KeyError:
            logger.exception("stock lookup failed")
        with operation("checkout", logger, order="o-9"):
            pass
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert (handler.dropped, handler.failed) == (0, 0)

    wait_for(lambda: len(_rows(clickhouse)) >= 4, 60, "4 logged records", worker)
    info, warning, error, done = _rows(clickhouse)
    assert {r["ServiceName"] for r in (info, warning, error, done)} == {"checkout-api"}
    assert {r["ScopeName"] for r in (info, warning, error, done)} == {logger.name}
    assert {r["LogFormat"] for r in (info, warning, error, done)} == {"json"}
    assert (info["SeverityText"], info["Body"]) == ("INFO", "cart loaded")
    assert info["LogAttributes"]["code.function"] == (
        "test_logged_records_are_stored_with_their_fields"
    )

    assert (warning["SeverityText"], warning["SeverityNumber"]) == ("WARN", 13)
    assert warning["LogAttributes"]["provider"] == "acme"
    assert warning["LogAttributes"]["latency_ms"] == "812"

    assert (error["SeverityText"], error["Body"]) == ("ERROR", "stock lookup failed")
    attributes = error["LogAttributes"]
    assert attributes["exception.type"] == "KeyError"
    assert attributes["exception.message"] == "'sku-42'"
    assert attributes["exception.stacktrace"].startswith("Traceback (most recent call last)")
    assert '{}["sku-42"]' in attributes["exception.stacktrace"]

    assert done["LogAttributes"]["operation.name"] == "checkout"
    assert done["LogAttributes"]["operation.status"] == "ok"
    assert float(done["LogAttributes"]["operation.duration_ms"]) >= 0
    assert done["LogAttributes"]["order"] == "o-9"


APP = """
import logging
from pipeline.shipping import install
install(service="billing")
logging.getLogger("billing.jobs").info("nightly run %d finished", 7)
raise SystemExit(0)  # no close(): logging.shutdown at exit must deliver the record
"""


def test_records_are_delivered_when_the_program_exits(pipeline_settings, clickhouse, worker):
    env = {**os.environ, **pipeline_settings.to_env()}
    done = subprocess.run([sys.executable, "-c", APP], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""

    wait_for(lambda: len(_rows(clickhouse)) >= 1, 60, "the record logged before exit", worker)
    (row,) = _rows(clickhouse)
    assert (row["ServiceName"], row["ScopeName"], row["Body"]) == (
        "billing",
        "billing.jobs",
        "nightly run 7 finished",
    )
