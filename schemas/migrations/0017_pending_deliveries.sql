-- Webhook deliveries that outlast receiver outages and worker restarts. An alert row queues
-- its deliveries in the same insert that records it (never one without the other): the
-- targets it goes to, one delivery id per target (webhooks.delivery_id) and the alert as sent.
-- A delivery is pending while no attempt with its id in alert_deliveries is `sent` or
-- `failed`; the next leader resumes whatever is pending.
ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS Targets Array(LowCardinality(String)),
    ADD COLUMN IF NOT EXISTS DeliveryIds Array(String),
    ADD COLUMN IF NOT EXISTS Payload String;

ALTER TABLE alert_deliveries
    ADD COLUMN IF NOT EXISTS DeliveryId String,
    COMMENT COLUMN Outcome 'sent: answered 2xx; retry: this attempt failed, another follows; failed: given up (LOGWEIR_WEBHOOK_GIVE_UP_AFTER_SECONDS after the alert), not delivered';
