"""Ingest: raw Kafka messages in; prepared batches (rows and dead letters) out.

`consumer` reads `logs.raw` and `logs.raw.<service>` in batches with aiokafka and commits each
batch's offsets only after it was written; `message` is a Kafka message as the pipeline sees
it; `ingestor` turns one message into records or dead letters (framing, format detection,
parsing, enrichment, user hooks), never raising; `columnar` prepares a whole batch a format
group at a time, and `batch` holds the prepared batch and its writer.
"""
