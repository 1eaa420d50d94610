"""Notify: recorded alerts in; webhook deliveries out. `kinds/` builds each target kind's
payload (a module per kind), `webhooks` the request and its delivery id, `sender` POSTs it,
`notifier` delivers through receiver outages and worker restarts, each attempt recorded as a
`delivery.Attempt`.
"""
