-- Payment attempts. The card itself is never stored: only its brand and last four digits.
CREATE TABLE payments (
  id                BIGSERIAL PRIMARY KEY,
  order_id          BIGINT  NOT NULL REFERENCES orders (id),
  user_id           BIGINT  NOT NULL REFERENCES users (id),
  amount            BIGINT  NOT NULL CHECK (amount >= 0),
  status            TEXT    NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
  idempotency_key   TEXT    NOT NULL UNIQUE,      -- sent to the gateway; the same key never charges twice
  gateway_reference TEXT,                         -- the gateway's charge id
  decline_code      TEXT,
  card_brand        TEXT    NOT NULL,
  card_last4        TEXT    NOT NULL,
  created_at        BIGINT  NOT NULL,
  updated_at        BIGINT  NOT NULL
);
-- At most one charge per order: a second attempt while one is processing or after one succeeded
-- fails on this index instead of reaching the gateway.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id) WHERE status IN ('processing', 'succeeded');
CREATE INDEX payments_order ON payments (order_id);
-- The reconciler's question: which charges have had no answer for too long?
CREATE INDEX payments_processing ON payments (updated_at) WHERE status = 'processing';
