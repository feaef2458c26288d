-- Nothing to change for PostgreSQL: SQLite's migration 016 lets the webhook worker fan events out after
-- their transaction, following a cursor over event ids. PostgreSQL gives ids from a sequence, not in
-- commit order, so a cursor could pass an event whose transaction commits later: here the event's own
-- transaction fans it out, in the statement that writes it. The comment keeps the dialects' numbers alike.
COMMENT ON TABLE webhook_events IS
  'Each event is written with its deliveries, in one statement (webhooks/repo.cpp, write_event)';
