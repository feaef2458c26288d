-- Webhook events are fanned out to their endpoints' deliveries by the worker, in batches, rather than
-- by the transaction that writes the event (webhooks::Worker::run_once): on SQLite every row a sale
-- writes is written by the one writer thread, and a delivery row with its three indexes cost a sale
-- with a subscribed endpoint more than the event itself. `through` is the last event fanned out.
-- SQLite gives a row the next id when its transaction commits on that one writer, so every event
-- after `through` is still to be fanned out; the purge keeps the event at `through` so that its id
-- is never reused (webhooks/repo.cpp). PostgreSQL's ids are not in commit order: there the event's
-- own transaction fans it out, and this table does not exist.
CREATE TABLE webhook_fan_out (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  through BIGINT NOT NULL
);
INSERT INTO webhook_fan_out (id, through) SELECT 1, COALESCE(MAX(id), 0) FROM webhook_events;
