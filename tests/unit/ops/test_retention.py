"""The otel_logs TTL built from the retention settings, and when it needs changing."""

from __future__ import annotations

import pytest

from pipeline.errors import SettingsError
from pipeline.ops.retention import changes, days_by_range, ttl_expression
from pipeline.settings import Settings

CURRENT = (
    "MergeTree PARTITION BY toDate(TimestampTime) ORDER BY (ServiceName, TimestampTime) "
    "TTL {ttl} SETTINGS index_granularity = 8192, ttl_only_drop_parts = {drop}"
)


def test_one_retention_for_all_is_a_plain_ttl():
    assert ttl_expression(Settings(retention_days=14)) == "TimestampTime + toIntervalDay(14)"


def test_per_severity_days_become_one_row_level_ttl():
    settings = Settings(
        retention_days=30, retention_days_by_severity={"ERROR": 90, "debug": 7, "INFO": 30}
    )
    assert days_by_range(settings) == [(5, 8, 7), (17, 20, 90)]
    assert ttl_expression(settings) == (
        "TimestampTime + toIntervalDay(multiIf("
        "(SeverityNumber >= 5) AND (SeverityNumber <= 8), 7, "
        "(SeverityNumber >= 17) AND (SeverityNumber <= 20), 90, 30))"
    )


def test_environment_sets_the_overrides(monkeypatch):
    monkeypatch.setenv("LOGWEIR_RETENTION_DAYS", "10")
    monkeypatch.setenv("LOGWEIR_RETENTION_DAYS_BY_SEVERITY", '{"FATAL": 365}')
    assert ttl_expression(Settings()) == (
        "TimestampTime + toIntervalDay(multiIf("
        "(SeverityNumber >= 21) AND (SeverityNumber <= 24), 365, 10))"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ERR": 90}, "unknown severity 'ERR'"),
        ({"ERROR": 0}, "at least 1 day"),
    ],
)
def test_bad_overrides_name_the_setting(overrides, message):
    with pytest.raises(SettingsError, match=message) as caught:
        ttl_expression(Settings(retention_days_by_severity=overrides))
    assert "LOGWEIR_RETENTION_DAYS_BY_SEVERITY" in str(caught.value)


def test_nothing_changes_when_the_table_already_matches():
    settings = Settings(retention_days=30)
    engine = CURRENT.format(ttl="TimestampTime + toIntervalDay(30)", drop=1)
    assert changes(engine, "TimestampTime + toIntervalDay(30)", settings) == []


def test_per_severity_retention_deletes_rows_instead_of_dropping_parts():
    settings = Settings(retention_days=30, retention_days_by_severity={"DEBUG": 7})
    engine = CURRENT.format(ttl="TimestampTime + toIntervalDay(30)", drop=1)
    wanted = "TimestampTime + toIntervalDay(multiIf(x, 7, 30))"
    assert changes(engine, wanted, settings) == [
        "ALTER TABLE otel_logs MODIFY SETTING ttl_only_drop_parts = 0",
        f"ALTER TABLE otel_logs MODIFY TTL {ttl_expression(settings)}",
    ]


def test_a_table_without_ttl_gets_one():
    engine = "MergeTree ORDER BY (ServiceName, TimestampTime) SETTINGS ttl_only_drop_parts = 1"
    assert changes(engine, "TimestampTime + toIntervalDay(30)", Settings()) == [
        "ALTER TABLE otel_logs MODIFY TTL TimestampTime + toIntervalDay(30)"
    ]
