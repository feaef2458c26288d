-- The webhook worker sends new events straight from the log, as on SQLite (migrations 016 and 017,
-- webhooks::Worker::run_once), instead of each event's statement writing a pending delivery per
-- endpoint in the sale's transaction: that row and its indexes cost a sale a tenth of its rate.
-- PostgreSQL's ids come from a sequence in no commit order, so the cursor is not an id: each event
-- keeps the id of the transaction that wrote it (`xid`, from pg_current_xact_id()), and every
-- transaction older than the oldest one still running (pg_snapshot_xmin of a current snapshot) has
-- ended for good. So `through` is a transaction id: every event written by a transaction up to it
-- has been sent or written as a delivery, and the worker leases only up to the oldest running one.
-- The events already here were fanned out by their own statements: they keep this migration's
-- transaction id, and `through` starts at it.
ALTER TABLE webhook_events ADD COLUMN xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX webhook_events_xid ON webhook_events (xid);
CREATE TABLE webhook_fan_out (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  through         BIGINT NOT NULL,   -- the last transaction id whose events are all sent or written
  sending_through BIGINT,            -- leased: the events after `through` up to this one ...
  locked_until    BIGINT             -- ... until then (microseconds, UTC)
);
INSERT INTO webhook_fan_out (id, through) VALUES (1, pg_current_xact_id()::text::bigint);
COMMENT ON TABLE webhook_events IS
  'Written alone in the change''s transaction; the worker sends it once its transaction id is behind every running one (webhooks/repo.cpp)';
COMMENT ON TABLE webhook_deliveries IS
  'Written by the worker with the first attempt''s outcome, or by a test event or a redelivery (webhooks/repo.cpp)';
