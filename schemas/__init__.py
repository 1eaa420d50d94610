"""Models that cross a boundary (Kafka topics, ClickHouse tables) and the ClickHouse migrations."""

from schemas.records import DeadLetter, LogRecord, Severity

__all__ = ["DeadLetter", "LogRecord", "Severity"]
