-- A retried insert (the acknowledgement of the first was lost) carries the same deduplication
-- token, and otel_logs drops it; since ClickHouse 24.7 each materialized view's block gets a
-- token derived from it, but a view's table drops a repeat only if it keeps a deduplication
-- log, which a MergeTree does not by default: the counts below were added twice (found by
-- tests/integration/test_sink_encoding.py). The progress table (ingest_progress) keeps maxima,
-- which a repeat does not change; it keeps a log too, so that no view is the exception.
ALTER TABLE log_window_counts MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE log_templates MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE log_minute_counts MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE log_error_templates MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE http_request_stats MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE ingest_minute_counts MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE template_clusters MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE ingest_progress MODIFY SETTING non_replicated_deduplication_window = 10000;
