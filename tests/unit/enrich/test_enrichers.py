"""The built-in enrichers, each on its own: what they fill, fix or flag."""

from __future__ import annotations

from pipeline.enrich import enrichers
from pipeline.ingest.message import Message
from pipeline.settings import Settings
from schemas.records import LogColumns, LogRecord, Severity

KAFKA_MS = 1_700_000_000_000
DAY_NS = 86_400 * 10**9


def message(**fields: object) -> Message:
    return Message("logs.raw", 0, 7, KAFKA_MS, b"raw", **fields)  # type: ignore[arg-type]


def test_time_fills_a_missing_time_and_replaces_an_unstorable_one():
    missing = LogRecord(body="", format="text")
    enrichers.fill_time(missing, message())
    assert missing.timestamp_ns == KAFKA_MS * 10**6 and missing.flags == ["time_missing"]
    beyond = LogRecord(body="", format="json", timestamp_ns=enrichers.MAX_TIMESTAMP_NS + 1)
    enrichers.fill_time(beyond, message())
    assert beyond.flags == ["time_out_of_range"] and beyond.timestamp_ns == KAFKA_MS * 10**6


def test_skew_flags_without_changing_the_time():
    enrich = enrichers.flag_skew(
        Settings(max_future_skew_seconds=60, max_past_skew_seconds=60)
    ).record
    ahead = LogRecord(body="", format="json", timestamp_ns=(KAFKA_MS + 61_000) * 10**6)
    enrich(ahead, message())
    assert ahead.flags == ["time_future"] and ahead.timestamp_ns == (KAFKA_MS + 61_000) * 10**6


def test_retention_keeps_each_severity_for_its_own_days():
    enrich = enrichers.keep_within_retention(
        Settings(retention_days=7, retention_days_by_severity={"ERROR": 30})
    ).record
    ten_days_ago = KAFKA_MS * 10**6 - 10 * DAY_NS
    error = LogRecord(body="", format="json", timestamp_ns=ten_days_ago, severity=Severity.ERROR)
    info = LogRecord(body="", format="json", timestamp_ns=ten_days_ago, severity=Severity.INFO)
    enrich(error, message())
    enrich(info, message())
    assert error.flags == [] and info.flags == ["time_expired"]
    assert info.attributes["logweir.original_time_ns"] == str(ten_days_ago)


def test_service_and_host_come_from_the_message_when_the_record_has_none():
    record = LogRecord(body="", format="text")
    enrichers.fill_service(record, message(topic_suffix="billing"))
    enrichers.fill_host(record, message(headers={"host": b"web-1"}))
    assert (record.service, record.host) == ("billing", "web-1")


def test_truncate_cuts_at_a_character_boundary():
    enrich = enrichers.truncate_body(Settings(max_body_bytes=256)).record
    record = LogRecord(body="é" * 200, format="text")
    enrich(record, message())
    assert record.body == "é" * 128 and record.flags == ["truncated"]
    assert record.attributes["logweir.original_bytes"] == "400"


def test_template_masks_the_body():
    record = LogRecord(body="took 35 ms", format="text")
    enrichers.template_enricher(Settings()).record(record, message())
    assert record.template == "took <*> ms" and record.template_id != 0


def test_within_judges_from_the_extremes_and_never_passes_a_row_out_of_bounds():
    now_ns = KAFKA_MS * 10**6
    # Each row a second from its Kafka time, the batch spread over a day: the extremes alone
    # cannot tell (the exact check then runs), but they never pass a batch with a far row.
    spread = [KAFKA_MS + i * 3_600_000 for i in range(25)]
    times = [ms * 10**6 + 10**9 for ms in spread]
    assert not enrichers.within(times, spread, 60 * 10**9, 60 * 10**9)
    assert enrichers.within(times, spread, 25 * 3_600 * 10**9, 25 * 3_600 * 10**9)
    assert enrichers.within([now_ns + 59 * 10**9], [KAFKA_MS], 60 * 10**9, 0)
    assert not enrichers.within([now_ns + 61 * 10**9], [KAFKA_MS], 60 * 10**9, 0)
    assert enrichers.within([now_ns + 61 * 10**9], [KAFKA_MS], None, 0)  # ahead: not asked
    assert not enrichers.within([now_ns - 61 * 10**9], [KAFKA_MS], None, 60 * 10**9)


def test_skew_and_retention_column_forms_flag_exactly_the_far_rows_of_a_spread_batch():
    settings = Settings(max_future_skew_seconds=60, max_past_skew_seconds=60, retention_days=7)
    kafka_ms = [KAFKA_MS + i * 3_600_000 for i in range(25)]
    times = [ms * 10**6 + 10**9 for ms in kafka_ms]
    times[3] += 61 * 10**9  # ahead of its Kafka time
    times[7] -= 8 * DAY_NS  # past the retention
    rows = LogColumns(
        timestamp_ns=times,
        severity=[Severity.INFO] * 25,
        flags=[[] for _ in range(25)],
        attributes=[{} for _ in range(25)],
        kafka_ms=kafka_ms,
    )
    enrichers.flag_skew(settings).columns(rows)  # type: ignore[misc]
    enrichers.keep_within_retention(settings).columns(rows)  # type: ignore[misc]
    flagged = {i: f for i, f in enumerate(rows.flags) if f}
    assert flagged == {3: ["time_future"], 7: ["time_past", "time_expired"]}
