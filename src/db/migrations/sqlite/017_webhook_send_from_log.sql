-- The webhook worker sends new events straight from the log and writes each delivery's row once, with
-- what its first attempt came to (webhooks::Worker::run_once). Before, every delivery was a pending row
-- written by the fan-out, updated by the claim and updated again by the outcome: three writes on the
-- one writer thread that the shop's sales also wait for. Now a worker leases the events after `through`
-- (up to `sending_through`, until `locked_until`), so that two processes on one database file never
-- send the same range, sends them, and in one transaction writes their deliveries' rows and moves
-- `through` past them. A crash before that sends the range again once the lease has run out, with the
-- same webhook-ids (at least once).
ALTER TABLE webhook_fan_out ADD COLUMN sending_through BIGINT;
ALTER TABLE webhook_fan_out ADD COLUMN locked_until BIGINT;
