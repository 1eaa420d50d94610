-- Every alert state change the engine decided, and every delivery attempt of it.
CREATE TABLE IF NOT EXISTS alerts
(
    EventTime DateTime64(3) DEFAULT now64(3),
    Status LowCardinality(String),
    Rule LowCardinality(String),
    Fingerprint String,
    GroupLabels Map(LowCardinality(String), String),
    Labels Map(LowCardinality(String), String),
    Annotations Map(LowCardinality(String), String),
    Summary String,
    StartsAt DateTime64(3),
    EndsAt Nullable(DateTime64(3)),
    Value Float64,
    WindowStart DateTime,
    WindowEnd DateTime
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(EventTime)
ORDER BY (Rule, Fingerprint, EventTime);

CREATE TABLE IF NOT EXISTS alert_deliveries
(
    AttemptTime DateTime64(3) DEFAULT now64(3),
    Fingerprint String,
    Status LowCardinality(String),
    StartsAt DateTime64(3),
    Target LowCardinality(String),
    Attempt UInt16,
    -- sent: the receiver answered 2xx; retry: this attempt failed, another follows;
    -- failed: the last attempt failed, the alert was not delivered to this target.
    Outcome LowCardinality(String),
    HttpStatus UInt16,
    Error String,
    DurationMs UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(AttemptTime)
ORDER BY (Fingerprint, StartsAt, Status, Target, AttemptTime);
