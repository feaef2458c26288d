-- One order gets several emails of one kind (a shipped email per shipment, a refund email per refund):
-- the outbox's key becomes (kind, order_id, ref), where ref tells them apart (the fulfilment's or the
-- refund's id; 0 when a kind is sent once per order). PostgreSQL changes the constraint in place
-- (SQLite rebuilds the table; the result is the same columns and key). Existing rows get ref 0.
ALTER TABLE outbox ADD COLUMN ref BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_order_id_key;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_order_id_ref_key UNIQUE (kind, order_id, ref);
