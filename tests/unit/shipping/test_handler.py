"""The handler never blocks or raises into the application, and counts what it drops."""

from __future__ import annotations

import logging

from pipeline.settings import Settings
from pipeline.shipping import KafkaHandler, install, metric, operation


def stopped_handler(queue_size: int) -> KafkaHandler:
    # Not started: nothing drains the queue, as when Kafka is down.
    settings = Settings(handler_queue_size=queue_size, handler_flush_seconds=0.1)
    return KafkaHandler("api", settings, bootstrap="127.0.0.1:1", start=False)


def test_a_full_queue_drops_and_counts_without_raising(capsys):
    handler = stopped_handler(queue_size=3)
    logger = logging.getLogger("test.full")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for n in range(10):
            logger.warning("record %d", n)
    finally:
        logger.removeHandler(handler)
    assert handler.dropped == 7
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and "dropped 1 log records" in warnings[0]


def test_flush_and_close_give_up_after_their_timeout():
    handler = stopped_handler(queue_size=3)
    handler.emit(logging.makeLogRecord({"msg": "queued"}))
    handler.flush()
    handler.close()
    assert handler.dropped == 0


def test_a_record_whose_message_cannot_be_formatted_is_reported_not_raised(capsys):
    handler = stopped_handler(queue_size=3)
    handler.emit(logging.makeLogRecord({"msg": "%d items", "args": ("many",)}))
    assert "--- Logging error ---" in capsys.readouterr().err


def test_install_replaces_the_handler_it_installed_before():
    root = logging.getLogger()
    level = root.level
    try:
        first = install("api", bootstrap="127.0.0.1:1", topic="t")
        second = install("api", bootstrap="127.0.0.1:1", topic="t")
        assert [h for h in root.handlers if isinstance(h, KafkaHandler)] == [second]
        assert first.sender.close(0)
    finally:
        root.removeHandler(second)
        second.close()
        root.setLevel(level)


def test_operation_logs_duration_and_status_and_reraises(caplog):
    logger = logging.getLogger("test.ops")
    with caplog.at_level(logging.INFO, logger="test.ops"):
        with operation("checkout", logger, cart=3) as op:
            op["order"] = "o-1"
        try:
            with operation("refund", logger):
                raise TimeoutError("provider")
        except TimeoutError:
            pass
    ok, failed = caplog.records
    assert ok.operation["name"] == "checkout" and ok.operation["status"] == "ok"
    assert ok.operation["duration_ms"] >= 0
    assert (ok.cart, ok.order) == (3, "o-1")
    assert failed.operation["status"] == "error" and failed.levelno == logging.ERROR
    assert failed.exc_info[0] is TimeoutError


def test_metric_logs_name_value_and_unit(caplog):
    with caplog.at_level(logging.INFO, logger="test.metrics"):
        metric("queue.depth", 42, "items", logging.getLogger("test.metrics"))
    (logged,) = caplog.records
    assert logged.metric == {"name": "queue.depth", "value": 42, "unit": "items"}
    assert logged.getMessage() == "queue.depth=42 items"
