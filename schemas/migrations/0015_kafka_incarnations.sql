-- Kafka offsets mean something only within one incarnation of a partition: a broker that lost
-- its data, or a topic deleted and re-created, starts them again at 0 with other records.
-- Every row now says which incarnation it came from (numbered by the sink from 0, per
-- partition) and when Kafka received its message; the stored progress is kept per
-- incarnation, with the Kafka timestamp of the record at the highest stored offset as a
-- witness the sink checks against the broker before trusting the offsets (pipeline/sink/progress.py).
ALTER TABLE otel_logs ADD COLUMN IF NOT EXISTS KafkaTimestamp DateTime64(3) CODEC(Delta(8), ZSTD(1)) AFTER KafkaEventIndex;
ALTER TABLE otel_logs ADD COLUMN IF NOT EXISTS KafkaIncarnation UInt32 AFTER KafkaTimestamp;
ALTER TABLE logs_deadletter ADD COLUMN IF NOT EXISTS KafkaIncarnation UInt32 AFTER KafkaEventIndex;

CREATE TABLE IF NOT EXISTS ingest_progress
(
    TargetTable LowCardinality(String),
    KafkaTopic LowCardinality(String),
    KafkaPartition UInt32,
    KafkaIncarnation UInt32,
    MaxOffset SimpleAggregateFunction(max, UInt64),
    MarkTimestamp AggregateFunction(argMax, DateTime64(3), UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (TargetTable, KafkaTopic, KafkaPartition, KafkaIncarnation);

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_progress_otel_logs TO ingest_progress AS
SELECT 'otel_logs' AS TargetTable, KafkaTopic, KafkaPartition, KafkaIncarnation,
       max(KafkaOffset) AS MaxOffset, argMaxState(KafkaTimestamp, KafkaOffset) AS MarkTimestamp
FROM otel_logs
GROUP BY KafkaTopic, KafkaPartition, KafkaIncarnation;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_progress_logs_deadletter TO ingest_progress AS
SELECT 'logs_deadletter' AS TargetTable, KafkaTopic, KafkaPartition, KafkaIncarnation,
       max(KafkaOffset) AS MaxOffset, argMaxState(MessageTimestamp, KafkaOffset) AS MarkTimestamp
FROM logs_deadletter
GROUP BY KafkaTopic, KafkaPartition, KafkaIncarnation;

-- Marks stored before this migration carry no witness (timestamp 0): the sink trusts them
-- while the broker still has their offset.
INSERT INTO ingest_progress
SELECT TargetTable, KafkaTopic, KafkaPartition, 0, max(MaxOffset),
       argMaxState(toDateTime64(0, 3), toUInt64(0))
FROM ingest_offsets
GROUP BY TargetTable, KafkaTopic, KafkaPartition;

DROP VIEW IF EXISTS ingest_offsets_otel_logs;
DROP VIEW IF EXISTS ingest_offsets_logs_deadletter;
DROP TABLE IF EXISTS ingest_offsets;
