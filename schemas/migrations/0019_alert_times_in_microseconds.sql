-- Alert times as precise as the engine decides them (microseconds), not milliseconds: a worker
-- that becomes the leader restores each group's state from here, and a resolve it sends must
-- carry the very startsAt the firing carried, or a receiver pairing notifications by
-- (fingerprint, startsAt) sees two alerts (pipeline/alerting/store.py reads them back).
-- Rows stored before keep their milliseconds (the conversion only adds zeros).
ALTER TABLE alerts
    MODIFY COLUMN StartsAt DateTime64(6),
    MODIFY COLUMN EndsAt Nullable(DateTime64(6));

-- alert_deliveries.StartsAt stays in milliseconds: it is part of that table's sorting key,
-- whose type ClickHouse cannot change, and nothing is restored from it (an attempt names its
-- notification exactly by DeliveryId).
