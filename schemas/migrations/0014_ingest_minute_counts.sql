-- Rows stored per minute of arrival (not of event time) × table × Kafka partition: the ingest
-- rate and the spread over partitions on the pipeline-health panels. now() in a materialized
-- view is the insert's time, which otel_logs itself does not keep; there is no backfill
-- because stored rows do not say when they arrived.
CREATE TABLE IF NOT EXISTS ingest_minute_counts
(
    Minute DateTime,
    TargetTable LowCardinality(String),
    KafkaTopic LowCardinality(String),
    KafkaPartition UInt32,
    Rows UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (Minute, TargetTable, KafkaTopic, KafkaPartition)
TTL Minute + INTERVAL 400 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_minute_counts_otel_logs TO ingest_minute_counts AS
SELECT toStartOfMinute(now()) AS Minute, 'otel_logs' AS TargetTable, KafkaTopic,
       KafkaPartition, count() AS Rows
FROM otel_logs
GROUP BY KafkaTopic, KafkaPartition;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_minute_counts_logs_deadletter TO ingest_minute_counts AS
SELECT toStartOfMinute(now()) AS Minute, 'logs_deadletter' AS TargetTable, KafkaTopic,
       KafkaPartition, count() AS Rows
FROM logs_deadletter
GROUP BY KafkaTopic, KafkaPartition;
