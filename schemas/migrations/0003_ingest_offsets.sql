-- The highest Kafka offset stored per table and partition, kept by materialized views in the
-- same insert as the rows. A restarted worker skips what is at or below it, which makes the
-- at-least-once replay after a crash exactly-once in ClickHouse.
CREATE TABLE IF NOT EXISTS ingest_offsets
(
    TargetTable LowCardinality(String),
    KafkaTopic LowCardinality(String),
    KafkaPartition UInt32,
    MaxOffset SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (TargetTable, KafkaTopic, KafkaPartition);

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_offsets_otel_logs TO ingest_offsets AS
SELECT 'otel_logs' AS TargetTable, KafkaTopic, KafkaPartition, max(KafkaOffset) AS MaxOffset
FROM otel_logs
GROUP BY KafkaTopic, KafkaPartition;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_offsets_logs_deadletter TO ingest_offsets AS
SELECT 'logs_deadletter' AS TargetTable, KafkaTopic, KafkaPartition, max(KafkaOffset) AS MaxOffset
FROM logs_deadletter
GROUP BY KafkaTopic, KafkaPartition;
