-- Webhooks (issue #19): the endpoints staff register, the events the shop's changes write (an outbox,
-- as for email) and each event's delivery to each subscribed endpoint. Mirrors postgres/012_webhooks.sql.

CREATE TABLE webhook_endpoints (
  id                    INTEGER PRIMARY KEY,
  url                   TEXT    NOT NULL,
  events                TEXT    NOT NULL,            -- ",order.paid,order.placed,": each type between commas
  description           TEXT    NOT NULL DEFAULT '',
  enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  secret                TEXT    NOT NULL,            -- whsec_ + base64 of 24 random bytes
  previous_secret       TEXT,                        -- the secret before the last rotation ...
  previous_secret_until BIGINT,                      -- ... which still signs until then (microseconds, UTC)
  failing_since         BIGINT,                      -- first failed attempt since the last success
  disabled_at           BIGINT,                      -- set when 5 days of only failures disabled it
  created_at            BIGINT  NOT NULL,
  updated_at            BIGINT  NOT NULL
);

-- The outbox: one row per thing that happened, written by the transaction that made it happen, and only
-- when an endpoint subscribes to its type (webhooks/repo.cpp, kPublish).
CREATE TABLE webhook_events (
  id         INTEGER PRIMARY KEY,
  type       TEXT   NOT NULL,                        -- order.paid, ... (webhooks/events.hpp)
  payload    TEXT   NOT NULL,                        -- JSON: the event's data
  created_at BIGINT NOT NULL                         -- microseconds since the epoch, UTC
);

-- One row per event and subscribed endpoint: what the worker claims, sends and retries (notify's
-- outbox is the model: a lease, and attempts as the claim's fencing token).
CREATE TABLE webhook_deliveries (
  id               INTEGER PRIMARY KEY,
  event_id         BIGINT  NOT NULL REFERENCES webhook_events (id),
  endpoint_id      BIGINT  NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  status           TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,       -- also the claim's fencing token
  next_attempt_at  BIGINT  NOT NULL,
  locked_until     BIGINT,                           -- lease of the worker sending it ('sending' only)
  last_attempt_at  BIGINT,
  last_status_code INTEGER,                          -- the receiver's HTTP status; NULL: no answer
  last_latency_ms  INTEGER,
  last_response    TEXT,                             -- the first bytes of the answer's body
  last_error       TEXT,                             -- why the last attempt failed
  created_at       BIGINT  NOT NULL,
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
