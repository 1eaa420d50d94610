-- Error templates: first seen, last seen, count and a sample, for ERROR and FATAL rows only.
-- log_templates counts every row of a template, and one message shape is often logged at
-- several levels ("upstream timeout" as WARN while retrying, as ERROR when giving up), so its
-- counts and first/last seen would not be the errors'. Same shape, filtered.
CREATE TABLE IF NOT EXISTS log_error_templates
(
    TemplateId UInt64,
    ServiceName LowCardinality(String),
    Template SimpleAggregateFunction(any, String),
    FirstSeen SimpleAggregateFunction(min, DateTime64(9)),
    LastSeen SimpleAggregateFunction(max, DateTime64(9)),
    Count SimpleAggregateFunction(sum, UInt64),
    MaxSeverityNumber SimpleAggregateFunction(max, UInt8),
    SampleBody SimpleAggregateFunction(any, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (ServiceName, TemplateId);

-- Errors stored before this view existed (see 0011 for the guard).
INSERT INTO log_error_templates
SELECT TemplateId, ServiceName, any(Template), min(Timestamp), max(Timestamp), count(),
       max(SeverityNumber), any(substring(Body, 1, 2000))
FROM otel_logs
WHERE SeverityNumber >= 17 AND (SELECT count() FROM log_error_templates) = 0
GROUP BY TemplateId, ServiceName;

CREATE MATERIALIZED VIEW IF NOT EXISTS log_error_templates_mv TO log_error_templates AS
SELECT TemplateId, ServiceName, any(Template) AS Template, min(Timestamp) AS FirstSeen,
       max(Timestamp) AS LastSeen, count() AS Count, max(SeverityNumber) AS MaxSeverityNumber,
       any(substring(Body, 1, 2000)) AS SampleBody
FROM otel_logs
WHERE SeverityNumber >= 17
GROUP BY TemplateId, ServiceName;
