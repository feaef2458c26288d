#include "webhooks/repo.hpp"

#include "db/lease.hpp"

#include <algorithm>

namespace webhooks::repo {
namespace {

constexpr auto kEndpointColumns = db::concat(
    "SELECT id, url, events, description, enabled, secret, previous_secret, previous_secret_until, failing_since,"
    " disabled_at, created_at, updated_at FROM webhook_endpoints");
constexpr auto kFindEndpoint = db::concat(kEndpointColumns, " WHERE id = $1");
// PostgreSQL's row lock keeps a concurrent change or deletion out until the change commits (SQLite's
// writes are serial already).
constexpr auto kLockEndpoint = db::concat(kFindEndpoint, " FOR UPDATE");
constexpr auto kListEndpoints = db::concat(kEndpointColumns, " ORDER BY id LIMIT $1 OFFSET $2");
constexpr std::string_view kInsertEndpoint =
    "INSERT INTO webhook_endpoints (url, events, description, enabled, secret, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
constexpr std::string_view kLockEndpoints = "LOCK TABLE webhook_endpoints IN SHARE ROW EXCLUSIVE MODE";
constexpr std::string_view kCountEndpoints = "SELECT COUNT(*) FROM webhook_endpoints";
// Enabling again forgets the failures that disabled it: the next failure starts a new five days.
constexpr std::string_view kUpdateEndpoint =
    "UPDATE webhook_endpoints SET url = $2, events = $3, description = $4, enabled = $5, updated_at = $6,"
    " disabled_at = CASE WHEN $5 = 1 THEN NULL ELSE disabled_at END,"
    " failing_since = CASE WHEN $5 = 1 AND enabled = 0 THEN NULL ELSE failing_since END WHERE id = $1";
constexpr std::string_view kDeleteEndpoint = "DELETE FROM webhook_endpoints WHERE id = $1";
constexpr std::string_view kRotate =
    "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, secret = $2, updated_at = $4"
    " WHERE id = $1";

// The events column holds ",a,b,", so a type is subscribed when ",type," occurs in it.
constexpr std::string_view kSubscriptions = "SELECT events FROM webhook_endpoints WHERE enabled = 1";
constexpr auto kWriteEvent = db::concat("INSERT INTO webhook_events (type, payload, created_at) VALUES ($1, $2, $3)");
// With its id (the test event): RETURNING costs SQLite a temporary table, which a sale need not pay.
constexpr auto kInsertEvent = db::concat(kWriteEvent, " RETURNING id");
// The events after the cursor (at most $3 of them) are leased until $2 unless another worker's lease
// on them is still running at $1. SQLite: by id (migration 017).
constexpr std::string_view kLeaseNewEventsSqlite =
    "UPDATE webhook_fan_out SET locked_until = $2, sending_through = (SELECT MAX(id) FROM (SELECT id FROM"
    " webhook_events WHERE id > webhook_fan_out.through ORDER BY id LIMIT $3))"
    " WHERE (locked_until IS NULL OR locked_until <= $1)"
    " AND EXISTS (SELECT 1 FROM webhook_events WHERE id > webhook_fan_out.through) RETURNING through, sending_through";
// PostgreSQL: by the writing transaction's id (migration 018), and only the transactions before the
// oldest one still running (the snapshot's xmin), which have all ended: committed or not, nothing of
// theirs can appear later. The $3rd event's transaction is the last leased, with all its events.
constexpr std::string_view kLeaseNewEventsPostgres =
    "WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1 AS ended)"
    " UPDATE webhook_fan_out f SET locked_until = $2, sending_through = LEAST(h.ended, COALESCE((SELECT e.xid FROM"
    " webhook_events e WHERE e.xid > f.through ORDER BY e.xid OFFSET $3 - 1 LIMIT 1), h.ended))"
    " FROM h WHERE (f.locked_until IS NULL OR f.locked_until <= $1)"
    " AND EXISTS (SELECT 1 FROM webhook_events e WHERE e.xid > f.through AND e.xid <= h.ended)"
    " RETURNING f.through, f.sending_through";
// Each event with each endpoint enabled and subscribed now, and made before the event (SQLite writes
// both on its one writer, so created_at orders them as their commits do; on PostgreSQL an endpoint
// made while the event's transaction runs may or may not get it, as on any boundary between nodes).
constexpr auto kNewDeliveriesFrom = db::concat(
    "SELECT e.id, e.type, e.payload, e.created_at, p.id, p.url, p.enabled, p.secret, p.previous_secret,"
    " p.previous_secret_until FROM webhook_events e JOIN webhook_endpoints p ON p.enabled = 1"
    " AND p.created_at <= e.created_at AND ");
constexpr auto kNewDeliveriesSqlite = db::concat(
    kNewDeliveriesFrom, "instr(p.events, ',' || e.type || ',') > 0 WHERE e.id > $1 AND e.id <= $2 ORDER BY e.id, p.id");
constexpr auto kNewDeliveriesPostgres = db::concat(
    kNewDeliveriesFrom, "strpos(p.events, ',' || e.type || ',') > 0 WHERE e.xid > $1 AND e.xid <= $2 ORDER BY e.id, p.id");
constexpr std::string_view kPassNewEvents =
    "UPDATE webhook_fan_out SET through = sending_through, sending_through = NULL, locked_until = NULL"
    " WHERE through = $1 AND sending_through = $2 AND locked_until = $3";
// $1 event, $2 endpoint, $3 status, $4 attempts, $5 next attempt, then the outcome: $6 at, $7 code,
// $8 latency, $9 answer, $10 error; $11 the event's time. No RETURNING: it costs SQLite a temporary table
// per statement.
constexpr std::string_view kInsertNew =
    "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, last_attempt_at,"
    " last_status_code, last_latency_ms, last_response, last_error, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (event_id, endpoint_id) DO NOTHING";
constexpr auto kExistingEndpoints = db::concat("SELECT id FROM webhook_endpoints");
constexpr auto kExistingEndpointsLocked = db::concat(kExistingEndpoints, " FOR KEY SHARE");
constexpr std::string_view kDeliverTo =
    "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, created_at)"
    " VALUES ($1, $2, 'pending', 0, $3, $3) RETURNING id";

// The claim, as the email outbox's (db/lease.hpp): due pending rows and 'sending' rows whose lease ran
// out, leased in one UPDATE; SKIP LOCKED keeps PostgreSQL nodes from queueing behind each other's claims.
constexpr char kDeliveriesTable[] = "webhook_deliveries";
constexpr char kClaimedColumns[] = "id, attempts";
using Claim = db::LeaseClaim<kDeliveriesTable, kClaimedColumns>;
constexpr std::string_view kClaimedDetail =
    "SELECT e.id, e.type, e.payload, e.created_at, p.id, p.url, p.enabled, p.secret, p.previous_secret,"
    " p.previous_secret_until FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
    " JOIN webhook_endpoints p ON p.id = d.endpoint_id WHERE d.id = $1";

// $1 id, $2 attempts (the fence), then the outcome: $3 at, $4 code, $5 latency, $6 answer, $7 error.
constexpr auto kOutcome = db::concat(
    "last_attempt_at = $3, last_status_code = $4, last_latency_ms = $5, last_response = $6, last_error = $7,"
    " locked_until = NULL");
constexpr auto kFence = db::concat(" WHERE id = $1 AND status = 'sending' AND attempts = $2");
constexpr auto kMarkSucceeded = db::concat("UPDATE webhook_deliveries SET status = 'succeeded', ", kOutcome, kFence);
constexpr auto kScheduleRetry =
    db::concat("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $8, ", kOutcome, kFence);
constexpr auto kMarkFailed = db::concat("UPDATE webhook_deliveries SET status = 'failed', ", kOutcome, kFence);
constexpr auto kRelease = db::concat(
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, locked_until = NULL,"
    " attempts = attempts - 1", kFence);

constexpr std::string_view kEndpointSucceeded =
    "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL";
// $2 now, $3 the quiet gap's start: a spell whose last failure is older is over, and this one begins anew.
constexpr std::string_view kEndpointFailing =
    "UPDATE webhook_endpoints SET failing_since = CASE WHEN failing_since IS NULL OR last_failed_at IS NULL"
    " OR last_failed_at < $3 THEN $2 ELSE failing_since END, last_failed_at = $2 WHERE id = $1";
constexpr std::string_view kDisableFailing =
    "UPDATE webhook_endpoints SET enabled = 0, disabled_at = $2, updated_at = $2"
    " WHERE id = $1 AND enabled = 1 AND failing_since <= $3";

constexpr auto kDeliveryColumns = db::concat(
    "SELECT d.id, d.event_id, e.type, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at,"
    " d.last_status_code, d.last_latency_ms, d.last_response, d.last_error, d.created_at, e.created_at"
    " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id");
constexpr auto kByEndpoint = db::concat(" WHERE d.endpoint_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.status = $2)");
constexpr auto kCountDeliveries = db::concat("SELECT COUNT(*) FROM webhook_deliveries d", kByEndpoint);
constexpr auto kListDeliveries = db::concat(kDeliveryColumns, kByEndpoint, " ORDER BY d.id DESC LIMIT $3 OFFSET $4");
constexpr auto kFindDelivery = db::concat(kDeliveryColumns, " WHERE d.id = $1");
constexpr std::string_view kRedeliver =
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, attempts = 0, locked_until = NULL"
    " WHERE id = $1 AND status IN ('pending', 'succeeded', 'failed')";
constexpr std::string_view kQueueStats =
    "SELECT waiting, (SELECT created_at FROM webhook_deliveries WHERE id = oldest) FROM (SELECT COUNT(*) AS waiting,"
    " MIN(id) AS oldest FROM webhook_deliveries WHERE status IN ('pending', 'sending')) AS q";

// The oldest events, by id (ids grow with created_at), that nothing is still to be sent for, of those
// the cursor has passed (their deliveries are written). On SQLite never the last of them: a new event
// takes the largest id plus one, which must stay after the cursor (migration 016).
constexpr auto kOldEventsWhere = db::concat(
    "SELECT e.id FROM webhook_events e WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
    " WHERE d.event_id = e.id AND d.status IN ('pending', 'sending'))");
constexpr auto kOldEventsPostgres = db::concat(
    kOldEventsWhere, " AND e.xid <= (SELECT through FROM webhook_fan_out) ORDER BY e.id LIMIT $2");
constexpr auto kOldEventsSqlite =
    db::concat(kOldEventsWhere, " AND e.id < (SELECT through FROM webhook_fan_out) ORDER BY e.id LIMIT $2");
// The events the cursor has not passed yet (each counts once in the queue's depth) and the first one's time.
constexpr std::string_view kNotFannedOutSqlite =
    "SELECT COUNT(*), (SELECT created_at FROM webhook_events WHERE id > f.through ORDER BY id LIMIT 1)"
    " FROM webhook_events, webhook_fan_out f WHERE webhook_events.id > f.through";
constexpr std::string_view kNotFannedOutPostgres =
    "SELECT COUNT(*), MIN(e.created_at) FROM webhook_events e, webhook_fan_out f WHERE e.xid > f.through";
// Each re-checks (a redelivery on another node may have made one pending again since).
constexpr std::string_view kForgetDeliveries =
    "DELETE FROM webhook_deliveries WHERE event_id = $1 AND status IN ('succeeded', 'failed')";
constexpr std::string_view kForgetEvent =
    "DELETE FROM webhook_events WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE event_id = $1)";

Endpoint endpoint_row(const db::Row& r) {
  return Endpoint{r.integer(0),          r.text(1),          r.text(2),           r.text(3),
                  r.integer(4) == 1,     r.text(5),          r.optional_text(6),  r.optional_integer(7),
                  r.optional_integer(8), r.optional_integer(9), r.integer(10),    r.integer(11)};
}

Delivery delivery_row(const db::Row& r) {
  return Delivery{r.integer(0),          r.integer(1),          r.text(2),          r.integer(3),
                  r.text(4),             r.integer(5),          r.integer(6),       r.optional_integer(7),
                  r.optional_integer(8), r.optional_integer(9), r.optional_text(10), r.optional_text(11),
                  r.integer(12),         r.integer(13)};
}

std::string between_commas(std::string_view type) {
  std::string text(1, ',');  // not "," + std::string(type) + ",": GCC 12 warns of it (-Wrestrict)
  text.append(type).push_back(',');
  return text;
}

bool record(db::Connection& c, std::string_view sql, const Claimed& d, const Outcome& o) {
  return c.query(sql, d.id, d.attempts, o.at, o.status_code, o.latency_ms, o.answer, o.error).affected_rows == 1;
}

// kClaimedDetail's and kNewDeliveriesFrom's columns: the event, then the endpoint.
Claimed claimed_row(std::int64_t id, std::int64_t attempts, const db::Row& row) {
  return Claimed{id,          attempts,          row.integer(0),       row.text(1),
                 row.text(2), row.integer(3),    row.integer(4),       row.text(5),
                 row.integer(6) == 1, row.text(7), row.optional_text(8), row.optional_integer(9)};
}

// The event and endpoint of a delivery just leased (nullopt if the endpoint was deleted meanwhile).
std::optional<Claimed> claimed_detail(db::Connection& c, std::int64_t id, std::int64_t attempts) {
  auto r = c.query(kClaimedDetail, id);
  auto row = r.first();
  if (!row) return std::nullopt;
  return claimed_row(id, attempts, *row);
}

}  // namespace

void lock_endpoints(db::Connection& c) {
  if (c.dialect() == db::Dialect::postgres) c.query(kLockEndpoints);
}

std::int64_t insert_endpoint(db::Connection& c, const Endpoint& e, std::int64_t now) {
  return c.query(kInsertEndpoint, e.url, e.events, e.description, e.enabled, e.secret, now)[0].integer(0);
}

std::optional<Endpoint> find_endpoint(db::Connection& c, std::int64_t id) {
  auto r = c.query(kFindEndpoint, id);
  if (auto row = r.first()) return endpoint_row(*row);
  return std::nullopt;
}

std::optional<Endpoint> lock_endpoint(db::Connection& c, std::int64_t id) {
  auto r = c.query(c.sql(kFindEndpoint, kLockEndpoint), id);
  if (auto row = r.first()) return endpoint_row(*row);
  return std::nullopt;
}

std::int64_t count_endpoints(db::Connection& c) { return c.query(kCountEndpoints)[0].integer(0); }

std::vector<Endpoint> list_endpoints(db::Connection& c, std::int64_t limit, std::int64_t offset) {
  auto r = c.query(kListEndpoints, limit, offset);
  std::vector<Endpoint> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(endpoint_row(r[i]));
  return out;
}

void update_endpoint(db::Connection& c, const Endpoint& e, std::int64_t now) {
  c.query(kUpdateEndpoint, e.id, e.url, e.events, e.description, e.enabled, now);
}

bool delete_endpoint(db::Connection& c, std::int64_t id) { return c.query(kDeleteEndpoint, id).affected_rows == 1; }

bool rotate_secret(db::Connection& c, std::int64_t id, const std::string& secret, std::int64_t previous_until,
                   std::int64_t now) {
  return c.query(kRotate, id, secret, previous_until, now).affected_rows == 1;
}

std::string subscriptions(db::Connection& c) {
  auto r = c.query(kSubscriptions);
  std::string all;
  for (std::size_t i = 0; i < r.size(); ++i) all += r[i].text(0);
  return all;
}

bool subscribes(std::string_view subscriptions, std::string_view type) {
  return subscriptions.find(between_commas(type)) != std::string_view::npos;
}

std::int64_t insert_event(db::Connection& c, std::string_view type, const std::string& payload, std::int64_t now) {
  return c.query(kInsertEvent, type, payload, now)[0].integer(0);
}

void write_event(db::Connection& c, std::string_view type, const std::string& payload, std::int64_t now,
                 const std::function<void()>& written) {
  c.defer([written](const db::Result&) { written(); }, kWriteEvent, type, payload, now);
}

std::optional<NewEvents> lease_new_events(db::Connection& c, std::int64_t now, std::int64_t lease_until, int limit) {
  auto r = c.query(c.sql(kLeaseNewEventsSqlite, kLeaseNewEventsPostgres), now, lease_until, limit);
  auto row = r.first();
  if (!row) return std::nullopt;
  return NewEvents{row->integer(0), row->integer(1), lease_until};
}

std::vector<Claimed> new_deliveries(db::Connection& c, const NewEvents& leased) {
  auto r = c.query(c.sql(kNewDeliveriesSqlite, kNewDeliveriesPostgres), leased.after, leased.through);
  std::vector<Claimed> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(claimed_row(0, 1, r[i]));
  return out;
}

bool pass_new_events(db::Connection& c, const NewEvents& leased) {
  return c.query(kPassNewEvents, leased.after, leased.through, leased.lease_until).affected_rows == 1;
}

void insert_new(db::Connection& c, const Claimed& d, std::string_view status, std::int64_t next_attempt_at,
                const std::optional<Outcome>& outcome, std::function<void(bool inserted)> then) {
  auto o = outcome.value_or(Outcome{});
  std::optional<std::int64_t> at, latency;
  if (outcome) at = o.at, latency = o.latency_ms;
  c.defer([then = std::move(then)](const db::Result& r) { then(r.affected_rows == 1); }, kInsertNew, d.event_id,
          d.endpoint_id, status, outcome ? d.attempts : 0, next_attempt_at, at, o.status_code, latency, o.answer,
          o.error, d.event_created_at);
}

std::set<std::int64_t> existing_endpoints(db::Connection& c) {
  auto r = c.query(c.sql(kExistingEndpoints, kExistingEndpointsLocked));
  std::set<std::int64_t> ids;
  for (std::size_t i = 0; i < r.size(); ++i) ids.insert(r[i].integer(0));
  return ids;
}

std::int64_t deliver_to(db::Connection& c, std::int64_t event_id, std::int64_t endpoint_id, std::int64_t now) {
  return c.query(kDeliverTo, event_id, endpoint_id, now)[0].integer(0);
}

std::vector<Leased> claim_due(db::Connection& c, std::int64_t now, std::int64_t lease_until, int limit) {
  auto r = c.query(c.sql(Claim::sqlite, Claim::postgres), now, lease_until, limit);
  std::vector<Leased> leased;
  for (std::size_t i = 0; i < r.size(); ++i) leased.push_back({r[i].integer(0), r[i].integer(1)});
  // RETURNING gives no order: oldest first.
  std::sort(leased.begin(), leased.end(), [](const Leased& a, const Leased& b) { return a.id < b.id; });
  return leased;
}

std::vector<Claimed> claimed_details(db::Connection& c, const std::vector<Leased>& leased) {
  std::vector<Claimed> claimed;
  for (const auto& l : leased) {
    if (auto detail = claimed_detail(c, l.id, l.attempts)) claimed.push_back(std::move(*detail));
  }
  return claimed;
}

bool mark_succeeded(db::Connection& c, const Claimed& d, const Outcome& o) { return record(c, kMarkSucceeded, d, o); }

bool schedule_retry(db::Connection& c, const Claimed& d, const Outcome& o, std::int64_t next_attempt_at) {
  return c.query(kScheduleRetry, d.id, d.attempts, o.at, o.status_code, o.latency_ms, o.answer, o.error,
                 next_attempt_at).affected_rows == 1;
}

bool mark_failed(db::Connection& c, const Claimed& d, const Outcome& o) { return record(c, kMarkFailed, d, o); }

bool release(db::Connection& c, const Claimed& d, std::int64_t now) {
  return c.query(kRelease, d.id, d.attempts, now).affected_rows == 1;
}

void endpoint_succeeded(db::Connection& c, std::int64_t endpoint_id) { c.query(kEndpointSucceeded, endpoint_id); }

bool endpoint_failed(db::Connection& c, std::int64_t endpoint_id, std::int64_t now, std::int64_t quiet_since,
                     std::int64_t disable_if_failing_since) {
  c.query(kEndpointFailing, endpoint_id, now, quiet_since);
  return c.query(kDisableFailing, endpoint_id, now, disable_if_failing_since).affected_rows == 1;
}

std::int64_t count_deliveries(db::Connection& c, std::int64_t endpoint_id, const std::optional<std::string>& status) {
  return c.query(kCountDeliveries, endpoint_id, status)[0].integer(0);
}

std::vector<Delivery> list_deliveries(db::Connection& c, std::int64_t endpoint_id,
                                      const std::optional<std::string>& status, std::int64_t limit,
                                      std::int64_t offset) {
  auto r = c.query(kListDeliveries, endpoint_id, status, limit, offset);
  std::vector<Delivery> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(delivery_row(r[i]));
  return out;
}

std::optional<Delivery> find_delivery(db::Connection& c, std::int64_t id) {
  auto r = c.query(kFindDelivery, id);
  if (auto row = r.first()) return delivery_row(*row);
  return std::nullopt;
}

void redeliver(db::Connection& c, std::int64_t id, std::int64_t now) { c.query(kRedeliver, id, now); }

QueueStats queue_stats(db::Connection& c) {
  auto r = c.query(kQueueStats);
  QueueStats stats{r[0].integer(0), r[0].optional_integer(1)};
  auto waiting = c.query(c.sql(kNotFannedOutSqlite, kNotFannedOutPostgres));
  stats.depth += waiting[0].integer(0);
  if (auto first = waiting[0].optional_integer(1)) {
    stats.oldest_created_at = std::min(stats.oldest_created_at.value_or(*first), *first);
  }
  return stats;
}

int purge(db::Connection& c, std::int64_t before, int limit) {
  auto old = c.query(c.sql(kOldEventsSqlite, kOldEventsPostgres), before, limit);
  int purged = 0;
  for (std::size_t i = 0; i < old.size(); ++i) {
    auto id = old[i].integer(0);
    c.query(kForgetDeliveries, id);
    purged += static_cast<int>(c.query(kForgetEvent, id).affected_rows);
  }
  return purged;
}

}  // namespace webhooks::repo
