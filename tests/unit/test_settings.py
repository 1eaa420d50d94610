"""Settings: env prefix, URL parsing, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.settings import Settings


def test_reads_logweir_prefixed_environment(monkeypatch):
    monkeypatch.setenv("LOGWEIR_TOPIC_RAW", "custom.raw")
    monkeypatch.setenv("LOGWEIR_SINK_BATCH_MESSAGES", "123")
    monkeypatch.setenv("TOPIC_RAW", "ignored")
    settings = Settings()
    assert settings.topic_raw == "custom.raw"
    assert settings.sink_batch_messages == 123


def test_clickhouse_url_parts():
    settings = Settings(clickhouse_url="https://ch.example.com")
    assert (settings.clickhouse_host, settings.clickhouse_port, settings.clickhouse_secure) == (
        "ch.example.com",
        8443,
        True,
    )
    settings = Settings(clickhouse_url="http://127.0.0.1:18123")
    assert (settings.clickhouse_port, settings.clickhouse_secure) == (18123, False)


def test_bad_clickhouse_url_says_which_setting():
    with pytest.raises(ValueError, match="LOGWEIR_CLICKHOUSE_URL"):
        _ = Settings(clickhouse_url="127.0.0.1:8123").clickhouse_host


def test_rejects_nonsense_values(monkeypatch):
    monkeypatch.setenv("LOGWEIR_SINK_BATCH_MESSAGES", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_password_is_not_shown_in_repr():
    settings = Settings(clickhouse_password="hunter2")
    assert "hunter2" not in repr(settings)
    assert settings.clickhouse_password.get_secret_value() == "hunter2"


def test_kafka_host_port():
    assert Settings(kafka_bootstrap="broker:29092").kafka_host_port == ("broker", 29092)
