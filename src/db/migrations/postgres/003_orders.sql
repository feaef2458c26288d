-- Orders and the stock they hold. Unit prices and product names are copied at placement.
CREATE TABLE orders (
  id           BIGSERIAL PRIMARY KEY,
  user_id      BIGINT  NOT NULL REFERENCES users (id),
  status       TEXT    NOT NULL CHECK (status IN ('pending_payment', 'paid', 'cancelled', 'expired')),
  total_amount BIGINT  NOT NULL CHECK (total_amount >= 0),
  created_at   BIGINT  NOT NULL,
  expires_at   BIGINT  NOT NULL,                  -- when an unpaid order gives its stock back
  updated_at   BIGINT  NOT NULL,
  -- Set while a charge is with the payment gateway: the order may not be cancelled or expired then,
  -- since its customer may already have paid. Cleared when the payment settles or is reconciled.
  payment_in_flight INTEGER NOT NULL DEFAULT 0 CHECK (payment_in_flight IN (0, 1))
);
CREATE INDEX orders_user ON orders (user_id, id);
CREATE INDEX orders_status ON orders (status, id);
-- The sweeper's question: which unpaid orders are overdue?
CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'pending_payment';

CREATE TABLE order_items (
  id         BIGSERIAL PRIMARY KEY,
  order_id   BIGINT  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id BIGINT  NOT NULL REFERENCES products (id),
  product    TEXT    NOT NULL,
  price      BIGINT  NOT NULL CHECK (price >= 0),
  quantity   BIGINT  NOT NULL CHECK (quantity BETWEEN 1 AND 10000)
);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX order_items_product ON order_items (product_id);

-- Idempotency-Key: the first request with a key inserts its row before doing the work, so a
-- concurrent duplicate finds it; the response is stored once the work is done.
CREATE TABLE idempotency_keys (
  user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key          TEXT    NOT NULL,
  route        TEXT    NOT NULL,
  request_hash TEXT    NOT NULL,
  status       INTEGER,                           -- NULL while the first request is still working
  response     TEXT,
  created_at   BIGINT  NOT NULL,
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
