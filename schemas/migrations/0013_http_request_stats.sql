-- HTTP access statistics per minute × service × method × status class, from the rows the
-- access-log parser marks with http.response.status_code (and http.server.request.duration in
-- seconds when the log format has a request time). Latency is kept as quantile states, so any
-- range merges to true p50/p95/p99 (quantilesMerge), where averaging per-minute percentiles
-- would not; the sum and count of durations give the mean.
CREATE TABLE IF NOT EXISTS http_request_stats
(
    Minute DateTime,
    ServiceName LowCardinality(String),
    Method LowCardinality(String),
    StatusClass LowCardinality(String),
    Requests SimpleAggregateFunction(sum, UInt64),
    TimedRequests SimpleAggregateFunction(sum, UInt64),
    DurationSum SimpleAggregateFunction(sum, Float64),
    Duration AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (ServiceName, Minute, StatusClass, Method)
TTL Minute + INTERVAL 400 DAY;

-- Requests stored before this view existed (see 0011 for the guard).
INSERT INTO http_request_stats
SELECT toStartOfMinute(TimestampTime) AS Minute, ServiceName,
       LogAttributes['http.request.method'] AS Method,
       concat(substring(LogAttributes['http.response.status_code'], 1, 1), 'xx') AS StatusClass,
       count() AS Requests,
       countIf(isNotNull(toFloat64OrNull(LogAttributes['http.server.request.duration']))),
       sum(toFloat64OrZero(LogAttributes['http.server.request.duration'])),
       quantilesStateIf(0.5, 0.95, 0.99)(
           toFloat64OrZero(LogAttributes['http.server.request.duration']),
           isNotNull(toFloat64OrNull(LogAttributes['http.server.request.duration'])))
FROM otel_logs
WHERE mapContains(LogAttributes, 'http.response.status_code')
  AND (SELECT count() FROM http_request_stats) = 0
GROUP BY Minute, ServiceName, Method, StatusClass;

CREATE MATERIALIZED VIEW IF NOT EXISTS http_request_stats_mv TO http_request_stats AS
SELECT toStartOfMinute(TimestampTime) AS Minute, ServiceName,
       LogAttributes['http.request.method'] AS Method,
       concat(substring(LogAttributes['http.response.status_code'], 1, 1), 'xx') AS StatusClass,
       count() AS Requests,
       countIf(isNotNull(toFloat64OrNull(LogAttributes['http.server.request.duration'])))
           AS TimedRequests,
       sum(toFloat64OrZero(LogAttributes['http.server.request.duration'])) AS DurationSum,
       quantilesStateIf(0.5, 0.95, 0.99)(
           toFloat64OrZero(LogAttributes['http.server.request.duration']),
           isNotNull(toFloat64OrNull(LogAttributes['http.server.request.duration'])))
           AS Duration
FROM otel_logs
WHERE mapContains(LogAttributes, 'http.response.status_code')
GROUP BY Minute, ServiceName, Method, StatusClass;
