"""Enrich: a parsed LogRecord and its Kafka message in; the record with its time, service,
host, size and message template settled out. Enrichers register by name (`registry`) and run
in the order of a setting; `enrichers` holds the built-in ones, and `templates` masks the
variable parts of a message so identical events share one id.
"""
