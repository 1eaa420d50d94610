"""The ClickHouse tables alerting reads and writes, named once (created by the migrations)."""

from __future__ import annotations

from pipeline.sink.tables import LOGS_TABLE

# Read: the rows (rules that match bodies or attributes count them directly) and what the
# materialized views fill in the rows' own insert.
LOGS = LOGS_TABLE
WINDOW_COUNTS = "log_window_counts"  # per second × service × severity × template
TEMPLATES = "log_templates"  # per service × template: first stored, count, highest severity

# Written: each alert state change with its queued webhook deliveries, and every attempt.
ALERTS = "alerts"
DELIVERIES = "alert_deliveries"

ALERT_COLUMNS = (
    "Status",
    "Rule",
    "Fingerprint",
    "GroupLabels",
    "Labels",
    "Annotations",
    "Summary",
    "StartsAt",
    "EndsAt",
    "Value",
    "WindowStart",
    "WindowEnd",
    "Targets",
    "DeliveryIds",
    "Payload",
)
DELIVERY_COLUMNS = (
    "Fingerprint",
    "Status",
    "StartsAt",
    "Target",
    "Attempt",
    "Outcome",
    "HttpStatus",
    "Error",
    "DurationMs",
    "DeliveryId",
)
