-- One order gets several emails of one kind (a shipped email per shipment, a refund email per refund):
-- the outbox's key becomes (kind, order_id, ref), where ref tells them apart (the fulfilment's or the
-- refund's id; 0 when a kind is sent once per order). SQLite cannot drop a table constraint, so the
-- table is rebuilt: same columns plus ref, every row copied with its id (Message-IDs are made from
-- ids, so a resend of an old row keeps its Message-ID), then renamed into place. Nothing references
-- the outbox by a foreign key, so dropping the old table breaks nothing. This runs inside the
-- migration's one write transaction: a failure leaves the old table as it was.
CREATE TABLE outbox_010 (
  id              INTEGER PRIMARY KEY,
  kind            TEXT    NOT NULL,                  -- notify/outbox.hpp's k... kinds
  order_id        INTEGER,                           -- no foreign key: outbox rows outlive nothing they point to
  ref             INTEGER NOT NULL DEFAULT 0,        -- which one of several of a kind for one order; 0: the only one
  recipient       TEXT    NOT NULL,
  payload         TEXT    NOT NULL,                  -- JSON: the template context
  status          TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,        -- also the claim's fencing token (see notify/outbox.cpp)
  next_attempt_at BIGINT  NOT NULL,                  -- microseconds since the epoch, UTC
  locked_until    BIGINT,                            -- lease of the worker sending it ('sending' only)
  last_error      TEXT,
  created_at      BIGINT  NOT NULL,
  sent_at         BIGINT,
  UNIQUE (kind, order_id, ref)                       -- one email per event, whoever retries the transaction
);
INSERT INTO outbox_010 (id, kind, order_id, ref, recipient, payload, status, attempts, next_attempt_at,
                        locked_until, last_error, created_at, sent_at)
  SELECT id, kind, order_id, 0, recipient, payload, status, attempts, next_attempt_at,
         locked_until, last_error, created_at, sent_at
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_010 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
