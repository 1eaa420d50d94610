-- Skip indexes for the filters the reports and dashboards use that the order key and the
-- existing indexes (trace id, attribute keys/values, body tokens) do not already prune.
--
-- SeverityNumber minmax: almost free (two bytes per granule). It skips granules for "errors
-- only" queries on services that rarely fail (at 1 error in 10,000 rows about 4 granules in 10
-- hold none) and for debug-only queries on services that run with debug off. It cannot help
-- when errors are spread thinly through every granule, which is why severity is not in the key.
ALTER TABLE otel_logs ADD INDEX IF NOT EXISTS idx_severity SeverityNumber TYPE minmax GRANULARITY 1;

-- TemplateId bloom filter: drilling down from a template in a report or panel to its rows looks
-- up one id among millions, and the interesting ones (new or error templates) are rare.
ALTER TABLE otel_logs ADD INDEX IF NOT EXISTS idx_template_id TemplateId TYPE bloom_filter(0.01) GRANULARITY 1;

-- No projection: the aggregates a projection would serve (counts per minute, per template,
-- HTTP latency) are materialized views from 0011 on, which cost a few rows per minute where a
-- projection re-sorting otel_logs would store every log row twice.
-- Existing parts get these indexes as they merge; `ALTER TABLE otel_logs MATERIALIZE INDEX
-- idx_severity` builds them at once, but rewrites every part, so it is not run here.
