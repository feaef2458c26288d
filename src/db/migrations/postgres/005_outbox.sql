-- The transactional outbox: a row is written in the same transaction as the state change that
-- causes the message (an order becoming paid), and a worker delivers it afterwards.
CREATE TABLE outbox (
  id              BIGSERIAL PRIMARY KEY,
  kind            TEXT    NOT NULL,                  -- 'order_confirmation'
  order_id        BIGINT,                            -- no foreign key: outbox rows outlive nothing they point to
  recipient       TEXT    NOT NULL,
  payload         TEXT    NOT NULL,                  -- JSON: the template context
  status          TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,        -- also the claim's fencing token (see notify/outbox.cpp)
  next_attempt_at BIGINT  NOT NULL,                  -- microseconds since the epoch, UTC
  locked_until    BIGINT,                            -- lease of the worker sending it ('sending' only; a node's claim)
  last_error      TEXT,
  created_at      BIGINT  NOT NULL,
  sent_at         BIGINT,
  UNIQUE (kind, order_id)                            -- one confirmation per order, whoever retries the settle
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
