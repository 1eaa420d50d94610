"""Intake: logs over HTTP in, Kafka messages on `logs.raw` out (`logweir intake`).

`POST /v1/logs` takes OTLP/HTTP logs (protobuf or OTLP's JSON), `POST /ingest` raw lines,
NDJSON or a JSON array. Each accepted request becomes one Kafka message (newline-delimited
events, `framing: lines`), and the answer is 2xx only once Kafka acknowledged it, so a request
is published whole or not at all. The worker parses, enriches and stores it like any producer's
message (OTLP records as the `otlp` format). `server` holds the routes, `auth` tokens and rate
limits, `body` size limits and gzip, `events` and `otlp` the two request shapes, `publisher`
the Kafka side, `metrics` what it counts.
"""
