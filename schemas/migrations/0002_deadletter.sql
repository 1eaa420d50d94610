-- Inputs that could not become a log row, with the reason and their Kafka coordinates.
CREATE TABLE IF NOT EXISTS logs_deadletter
(
    ReceivedAt DateTime64(3) DEFAULT now64(3),
    MessageTimestamp DateTime64(3),
    Reason LowCardinality(String),
    Detail String CODEC(ZSTD(1)),
    Raw String CODEC(ZSTD(3)),
    RawBytes UInt64,
    KafkaTopic LowCardinality(String),
    KafkaPartition UInt32,
    KafkaOffset UInt64
)
ENGINE = MergeTree
PARTITION BY toDate(ReceivedAt)
ORDER BY (Reason, ReceivedAt)
SETTINGS non_replicated_deduplication_window = 10000;
