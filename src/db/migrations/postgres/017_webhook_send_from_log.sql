-- Nothing to change for PostgreSQL: SQLite's migration 017 lets the webhook worker send new events
-- straight from the log, behind migration 016's cursor, which PostgreSQL does not have (its event's
-- own statement writes the deliveries, and the worker claims them). The comment keeps the dialects'
-- numbers alike.
COMMENT ON TABLE webhook_deliveries IS
  'One row per event and subscribed endpoint, written with the event (webhooks/repo.cpp, write_event)';
