"""Alerting: window counts in (read from ClickHouse), alerts out (the alerts table,
logs.alerts, webhooks).

`rules` loads the YAML into `AlertRule`s (`match`, and a condition from `conditions/`, a module
per kind); `counts` reads what a rule sees; `engine` turns counts into firing/resolved alerts;
`evaluator` is the leader's loop (restore, evaluate, record, publish, notify); `store` keeps
alerts and deliveries in ClickHouse (`tables` names them); `notify/` delivers webhooks;
`testing` holds the fakes unit tests use.
"""
