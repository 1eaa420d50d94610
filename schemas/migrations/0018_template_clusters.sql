-- Learnt templates, shared by every worker (pipeline/enrich/store.py says how they converge).

-- Every template id stored, with its most general text (the one with the most <*>) and when it
-- was first stored: filled from the rows in their own insert, so it holds exactly the ids
-- stored. A worker loads it when it starts and reads the ids new since its last look every
-- few seconds. The skip index keeps that look from reading the whole table.
CREATE TABLE IF NOT EXISTS template_clusters
(
    TemplateId UInt64,
    ScopeName SimpleAggregateFunction(any, String),
    Template AggregateFunction(argMax, String, UInt16),
    FirstStored SimpleAggregateFunction(min, DateTime64(3)),
    LastStored SimpleAggregateFunction(max, DateTime64(3)),
    INDEX first_stored FirstStored TYPE minmax GRANULARITY 1
)
ENGINE = AggregatingMergeTree
ORDER BY TemplateId;

CREATE MATERIALIZED VIEW IF NOT EXISTS template_clusters_mv TO template_clusters AS
SELECT TemplateId, any(ScopeName) AS ScopeName,
       argMaxState(Template, toUInt16(countSubstrings(Template, '<*>'))) AS Template,
       now64(3) AS FirstStored, now64(3) AS LastStored
FROM otel_logs
WHERE TemplateId != 0
GROUP BY TemplateId;

-- Ids that stand for another id: clusters found to be one event (two workers each learnt it
-- before seeing the other's, or a worker learnt it again after a restart). Written by the
-- workers, possibly several times and by several of them: the smallest id wins (every worker
-- picks the smallest, so an alias only ever points to a smaller id and chains end).
CREATE TABLE IF NOT EXISTS template_aliases
(
    Alias UInt64,
    TemplateId SimpleAggregateFunction(min, UInt64),
    Updated SimpleAggregateFunction(max, DateTime64(3)) DEFAULT now64(3)
)
ENGINE = AggregatingMergeTree
ORDER BY Alias;

-- Each alias with the id it stands for now, a chain of two followed (workers rewrite longer
-- chains as direct aliases when they next look). Reports, window counts and alerts read
-- template ids through it: one event, one id.
CREATE VIEW IF NOT EXISTS template_canonical AS
SELECT a.Alias AS Alias, if(b.TemplateId = 0, a.TemplateId, b.TemplateId) AS TemplateId
FROM (SELECT Alias, min(TemplateId) AS TemplateId FROM template_aliases GROUP BY Alias) AS a
LEFT JOIN (SELECT Alias, min(TemplateId) AS TemplateId FROM template_aliases GROUP BY Alias) AS b
    ON b.Alias = a.TemplateId;
