-- A Kafka message may carry several newline-delimited events: their position in it.
ALTER TABLE otel_logs ADD COLUMN IF NOT EXISTS KafkaEventIndex UInt32 AFTER KafkaOffset;
ALTER TABLE logs_deadletter ADD COLUMN IF NOT EXISTS KafkaEventIndex UInt32 AFTER KafkaOffset;
