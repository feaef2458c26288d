-- An endpoint's failing spell (failing_since, which webhook_disable_after measures) ends not only at
-- a success but also after a quiet spell without attempts: a failure the next week is a new spell. The
-- worker compares this time of the last failed attempt with the gap a failing endpoint's retries
-- leave at most (webhooks::Worker). Without it, one blip days after an old failure disabled the
-- endpoint at once and the events after it were not even written (an outside audit).
ALTER TABLE webhook_endpoints ADD COLUMN last_failed_at BIGINT;
