-- After payment: where the money and the goods are (orders/status.hpp's two new axes), shipments,
-- refunds and returns. The old API's status and paid stay as they were.
ALTER TABLE orders ADD COLUMN payment_status TEXT NOT NULL DEFAULT 'awaiting'
  CHECK (payment_status IN ('awaiting', 'paid', 'partially_refunded', 'refunded', 'none'));
ALTER TABLE orders ADD COLUMN fulfilment_status TEXT NOT NULL DEFAULT 'not_fulfilled'
  CHECK (fulfilment_status IN ('not_fulfilled', 'partially_fulfilled', 'fulfilled', 'partially_delivered',
                               'delivered', 'partially_returned', 'returned'));
-- What refunds hold of what was paid: succeeded ones plus those still with the gateway. One guarded
-- UPDATE (refund_held + amount <= total_amount) claims a refund, so concurrent refunds on any number
-- of nodes can never add up to more than was paid.
ALTER TABLE orders ADD COLUMN refund_held BIGINT NOT NULL DEFAULT 0 CHECK (refund_held >= 0);
-- Of which succeeded: payment_status follows it.
ALTER TABLE orders ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0);
UPDATE orders SET payment_status = 'paid' WHERE status = 'paid';
UPDATE orders SET payment_status = 'none' WHERE status IN ('cancelled', 'expired');

-- Units of each line shipped, delivered and returned so far. Guarded updates keep them in order
-- (returned and delivered never above shipped, shipped never above quantity), whichever node writes.
ALTER TABLE order_items ADD COLUMN shipped BIGINT NOT NULL DEFAULT 0 CHECK (shipped >= 0);
ALTER TABLE order_items ADD COLUMN delivered BIGINT NOT NULL DEFAULT 0 CHECK (delivered >= 0);
ALTER TABLE order_items ADD COLUMN returned BIGINT NOT NULL DEFAULT 0 CHECK (returned >= 0);

-- A shipment: some units of a paid order, with the carrier's tracking.
CREATE TABLE fulfilments (
  id              BIGSERIAL PRIMARY KEY,
  order_id        BIGINT NOT NULL REFERENCES orders (id),
  carrier         TEXT    NOT NULL,
  tracking_number TEXT    NOT NULL,
  tracking_url    TEXT    NOT NULL,
  shipped_at      BIGINT  NOT NULL,
  delivered_at    BIGINT,
  created_by      BIGINT REFERENCES users (id)
);
CREATE INDEX fulfilments_order ON fulfilments (order_id, id);

CREATE TABLE fulfilment_items (
  fulfilment_id BIGINT NOT NULL REFERENCES fulfilments (id),
  order_item_id BIGINT NOT NULL REFERENCES order_items (id),
  quantity      BIGINT  NOT NULL CHECK (quantity >= 1),
  PRIMARY KEY (fulfilment_id, order_item_id)
);

-- A return of shipped units; restocked ones went back on the shelf in the same transaction.
CREATE TABLE returns (
  id         BIGSERIAL PRIMARY KEY,
  order_id   BIGINT NOT NULL REFERENCES orders (id),
  reason     TEXT    NOT NULL,
  created_at BIGINT  NOT NULL,
  created_by BIGINT REFERENCES users (id)
);
CREATE INDEX returns_order ON returns (order_id, id);

CREATE TABLE return_items (
  return_id     BIGINT NOT NULL REFERENCES returns (id),
  order_item_id BIGINT NOT NULL REFERENCES order_items (id),
  quantity      BIGINT  NOT NULL CHECK (quantity >= 1),
  restocked     BIGINT  NOT NULL CHECK (restocked BETWEEN 0 AND quantity),
  PRIMARY KEY (return_id, order_item_id)
);

-- Refunds, like payments: claimed (processing) before the gateway is called with the refund's own
-- key, settled after. One whose outcome was lost stays processing until the reconciler asks.
CREATE TABLE refunds (
  id                BIGSERIAL PRIMARY KEY,
  order_id          BIGINT NOT NULL REFERENCES orders (id),
  payment_id        BIGINT NOT NULL REFERENCES payments (id),
  return_id         BIGINT REFERENCES returns (id),
  amount            BIGINT  NOT NULL CHECK (amount >= 1),
  reason            TEXT    NOT NULL,
  status            TEXT    NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
  idempotency_key   TEXT    NOT NULL UNIQUE,      -- sent to the gateway; the same key never refunds twice
  gateway_reference TEXT,                         -- the gateway's refund id
  failure_code      TEXT,
  created_by        BIGINT REFERENCES users (id),
  created_at        BIGINT  NOT NULL,
  updated_at        BIGINT  NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id, id);
-- The reconciler's question: which refunds have had no answer for too long?
CREATE INDEX refunds_processing ON refunds (updated_at) WHERE status = 'processing';
