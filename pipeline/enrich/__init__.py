"""Enrich: a parsed LogRecord and its Kafka message in; the record with its time, service,
host, size and message template settled out. Enrichers run in the order of a setting;
`templates` masks the variable parts of a message so identical events share one id.
"""
