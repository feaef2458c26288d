-- Each node keeps the set of event types some enabled endpoint subscribes to, so that publishing an
-- event costs no round trip when nobody listens for it (webhooks::Service::subscribed). Any change
-- that can alter that set, by any node or by hand, notifies channel orderd_webhook_endpoints when its
-- transaction commits; each node's listener (db/postgres.cpp) then retires its set. Only the rows
-- whose enabled flag or events change: the worker's bookkeeping (failing_since) and a secret's
-- rotation notify nobody.
CREATE FUNCTION orderd_webhook_endpoints_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orderd_webhook_endpoints', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER webhook_endpoints_added_or_removed AFTER INSERT OR DELETE ON webhook_endpoints
  FOR EACH ROW EXECUTE FUNCTION orderd_webhook_endpoints_changed();
CREATE TRIGGER webhook_endpoints_subscriptions_changed AFTER UPDATE ON webhook_endpoints
  FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.events IS DISTINCT FROM NEW.events)
  EXECUTE FUNCTION orderd_webhook_endpoints_changed();
