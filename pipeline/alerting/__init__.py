"""Alerting: rules from YAML, windowed counts from ClickHouse, the evaluation engine."""
