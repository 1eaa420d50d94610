"""Notify: alerts in; webhook deliveries out. `webhooks` builds each target kind's request,
`notifier` delivers them through receiver outages and worker restarts, each attempt recorded.
"""
