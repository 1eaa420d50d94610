-- Rows per minute × service × severity, filled in the same insert as otel_logs: what the log
-- volume and error rate panels and the trend reports read instead of scanning every row.
-- Aggregates are a few rows per service a minute, so they are kept for 400 days, longer than
-- any log retention, to compare a month with the same one last year.
CREATE TABLE IF NOT EXISTS log_minute_counts
(
    Minute DateTime,
    ServiceName LowCardinality(String),
    SeverityNumber UInt8,
    SeverityText LowCardinality(String),
    Count UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (ServiceName, Minute, SeverityNumber, SeverityText)
TTL Minute + INTERVAL 400 DAY;

-- Rows stored before this view existed, once: the guard keeps a retried migration from
-- counting them twice. The worker migrates before it consumes, so nothing is inserted between
-- this backfill and the view's creation unless other workers keep running during an upgrade.
INSERT INTO log_minute_counts
SELECT toStartOfMinute(TimestampTime) AS Minute, ServiceName, SeverityNumber, SeverityText,
       count() AS Count
FROM otel_logs
WHERE (SELECT count() FROM log_minute_counts) = 0
GROUP BY Minute, ServiceName, SeverityNumber, SeverityText;

CREATE MATERIALIZED VIEW IF NOT EXISTS log_minute_counts_mv TO log_minute_counts AS
SELECT toStartOfMinute(TimestampTime) AS Minute, ServiceName, SeverityNumber, SeverityText,
       count() AS Count
FROM otel_logs
GROUP BY Minute, ServiceName, SeverityNumber, SeverityText;
