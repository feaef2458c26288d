-- The sweeper forgets sent and failed emails older than `mail_keep` a batch at a time
-- (notify::purge_finished). Without an index it read every finished email and sorted them to take 500:
-- with 318,000 kept it held SQLite's one writer for 250-600 ms at every sweep, even with nothing to
-- forget. Only finished rows are in this index: queuing an email (in the payment's transaction) does
-- not write it; marking one sent or failed does.
CREATE INDEX outbox_finished ON outbox (created_at) WHERE status IN ('sent', 'failed');
