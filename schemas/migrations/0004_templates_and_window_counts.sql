-- Message templates on every row, and per-second counts that windows and alerting read.
ALTER TABLE otel_logs ADD COLUMN IF NOT EXISTS TemplateId UInt64 AFTER LogFormat;
ALTER TABLE otel_logs ADD COLUMN IF NOT EXISTS Template String CODEC(ZSTD(1)) AFTER TemplateId;

-- Counts per second × service × severity × template, filled in the same insert as the rows,
-- so they are exactly-once like the rows. Any window (tumbling or hopping, any size in whole
-- seconds) is a sum over these buckets: this is exactly what the alert rules see.
CREATE TABLE IF NOT EXISTS log_window_counts
(
    WindowStart DateTime,
    ServiceName LowCardinality(String),
    SeverityNumber UInt8,
    TemplateId UInt64,
    Count UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toDate(WindowStart)
ORDER BY (WindowStart, ServiceName, SeverityNumber, TemplateId)
TTL WindowStart + INTERVAL 30 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS log_window_counts_mv TO log_window_counts AS
SELECT TimestampTime AS WindowStart, ServiceName, SeverityNumber, TemplateId, count() AS Count
FROM otel_logs
GROUP BY WindowStart, ServiceName, SeverityNumber, TemplateId;

-- Every template ever seen: first/last seen, count, highest severity and a sample body.
CREATE TABLE IF NOT EXISTS log_templates
(
    TemplateId UInt64,
    ServiceName LowCardinality(String),
    Template SimpleAggregateFunction(any, String),
    FirstSeen SimpleAggregateFunction(min, DateTime64(9)),
    LastSeen SimpleAggregateFunction(max, DateTime64(9)),
    FirstStored SimpleAggregateFunction(min, DateTime),
    Count SimpleAggregateFunction(sum, UInt64),
    MaxSeverityNumber SimpleAggregateFunction(max, UInt8),
    SampleBody SimpleAggregateFunction(any, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (ServiceName, TemplateId);

CREATE MATERIALIZED VIEW IF NOT EXISTS log_templates_mv TO log_templates AS
SELECT TemplateId, ServiceName, any(Template) AS Template, min(Timestamp) AS FirstSeen,
       max(Timestamp) AS LastSeen, toDateTime(now()) AS FirstStored, count() AS Count,
       max(SeverityNumber) AS MaxSeverityNumber, any(substring(Body, 1, 2000)) AS SampleBody
FROM otel_logs
GROUP BY TemplateId, ServiceName;
