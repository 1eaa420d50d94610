"""Several worker processes from one command (`logweir worker --processes N`): in come the
worker's command line and the settings; out come N `python -m agents` children in one consumer
group (each with /metrics and /health of its own on 127.0.0.1), restarted when they die, and
one /metrics (every child's samples with a `process` label) and one /health (ok only when
every child is) on the configured `metrics_port`. `merge` holds the pure parts (metrics merge,
health verdict), `supervisor` the processes and the HTTP server.
"""
