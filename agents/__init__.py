"""Wiring: library code from pipeline/ attached to Kafka topics, timers and the worker.

`worker` builds the Faust app and the services started before it (`python -m agents` runs it);
`ingest` wires logs.raw to the sink and logs.deadletter; `alerting` wires the evaluation timer
and webhook delivery. No loop, state or SQL lives here.
"""
