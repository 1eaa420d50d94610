"""Operations: the ClickHouse schema (versioned migrations), the retention TTL built from
settings, and the worker's start-up wait for ClickHouse and Kafka.
"""
