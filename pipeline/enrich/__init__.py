"""Enrich: a parsed LogRecord and its Kafka message in; the record with its time, service,
host, size and message template settled out. Enrichers register by name (`registry`) and run
in the order of a setting; `enrichers` holds the built-in ones, and `templates` gives each
message its template: the variable parts masked (`masking`) or learnt (`miner`), one stable id
per event on every worker (`store` shares what is learnt through ClickHouse).
"""
