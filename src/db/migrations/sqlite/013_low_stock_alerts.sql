-- Low-stock alerts by email (issue #22): staff opt in, and every time a product's stock falls below
-- low_stock_threshold each of them gets one email through the outbox.
--
-- Who asked: a flag on the account. Only staff accounts that are active and have it set are sent
-- alerts; a customer's flag cannot be set (PATCH /admin/users/{id}/ refuses it) and a demoted
-- account's flag stays but is not read.
ALTER TABLE users ADD COLUMN low_stock_alerts INTEGER NOT NULL DEFAULT 0 CHECK (low_stock_alerts IN (0, 1));

-- One row per crossing (catalog::StockWatch reports a product going from >= threshold to below it
-- once, inside the transaction that lowered the stock): its id names the crossing.
CREATE TABLE low_stock_crossings (
  id         INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL REFERENCES products (id),
  stock      BIGINT  NOT NULL,                    -- what was left after the change
  threshold  BIGINT  NOT NULL,                    -- the low_stock_threshold it fell below
  crossed_at BIGINT  NOT NULL                     -- microseconds since the epoch, UTC
);
CREATE INDEX low_stock_crossings_product ON low_stock_crossings (product_id, id);

-- The outbox's key for an alert. UNIQUE (kind, order_id, ref) (migration 010) is about orders, and an
-- alert is about none: its order_id is NULL, like an account email's, and NULLs never conflict. Its
-- ref is the crossing's id and its recipient the staff member, so this index allows exactly one email
-- per crossing per staff member: a transaction retried after a lost answer cannot queue a second,
-- and a product restocked past the threshold and sold down again is a new crossing (a new id) that
-- alerts everyone again. Keying by the product instead would either mail once ever or need a row to
-- forget; keying by the order would miss staff's own stock edits, which have no order.
CREATE UNIQUE INDEX outbox_low_stock_once ON outbox (ref, recipient) WHERE kind = 'low_stock';
