#pragma once
// The webhooks' SQL (migration 012): endpoints, the event outbox and the deliveries the worker claims.
// Everything runs on a connection the caller's transaction provides. The claim follows the email
// outbox's design (notify/outbox.hpp): one statement leases due rows (SKIP LOCKED on PostgreSQL), and
// `attempts` fences the claim, so a worker whose lease ran out cannot record over a newer claim.

#include "db/database.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace webhooks::repo {

struct Endpoint {
  std::int64_t id = 0;
  std::string url;
  std::string events;  // ",a,b,": each subscribed type between commas
  std::string description;
  bool enabled = true;
  std::string secret;
  std::optional<std::string> previous_secret;
  std::optional<std::int64_t> previous_secret_until;
  std::optional<std::int64_t> failing_since;
  std::optional<std::int64_t> disabled_at;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// Serialises creations for the endpoint limit's count: SQLite's writes are serial already; PostgreSQL
// takes a table lock that lets readers through but not a second creation.
void lock_endpoints(db::Connection& c);
std::int64_t insert_endpoint(db::Connection& c, const Endpoint& e, std::int64_t now);
std::optional<Endpoint> find_endpoint(db::Connection& c, std::int64_t id);
// find_endpoint for a read-change-write: no other transaction changes or deletes the row until this one ends.
std::optional<Endpoint> lock_endpoint(db::Connection& c, std::int64_t id);
std::int64_t count_endpoints(db::Connection& c);
std::vector<Endpoint> list_endpoints(db::Connection& c, std::int64_t limit, std::int64_t offset);
// Writes url, events, description and enabled; enabling clears disabled_at and failing_since.
void update_endpoint(db::Connection& c, const Endpoint& e, std::int64_t now);
bool delete_endpoint(db::Connection& c, std::int64_t id);  // its deliveries go with it
// The secret becomes `secret`; the old one keeps signing until `previous_until`.
bool rotate_secret(db::Connection& c, std::int64_t id, const std::string& secret, std::int64_t previous_until,
                   std::int64_t now);

// Every enabled endpoint's events column, joined (",a,b,,c,"): a type is subscribed when ",type,"
// occurs in it. At most kMaxEndpoints rows.
std::string subscriptions(db::Connection& c);
// Whether `subscriptions` (as subscriptions() returns them) name `type`.
bool subscribes(std::string_view subscriptions, std::string_view type);
// An event alone (the test event, whose one delivery deliver_to makes); returns its id.
std::int64_t insert_event(db::Connection& c, std::string_view type, const std::string& payload, std::int64_t now);
// An event that every enabled endpoint subscribed to `type` is to get, written alone: the worker sends
// it from the log (lease_new_events). On PostgreSQL the statement goes with the transaction's next
// statement, mostly its COMMIT (db::Connection::defer: no round trip of its own in a sale), and
// `written` hears once it is answered; on SQLite it runs, and `written` hears, at once.
void write_event(db::Connection& c, std::string_view type, const std::string& payload, std::int64_t now,
                 const std::function<void()>& written);
// The events after the cursor, leased to one worker until `lease_until` so that no other sends them
// meanwhile; nullopt when there is none, or another worker's lease on them has not run out. The
// cursor is an event id on SQLite (migrations 016 and 017: its one writer gives ids in commit order)
// and a transaction id on PostgreSQL (migration 018: only events of transactions older than every
// running one are leased, so none can still appear behind the cursor).
struct NewEvents {
  std::int64_t after = 0;    // the cursor: every event up to it has its deliveries written
  std::int64_t through = 0;  // the last event (SQLite) or transaction (PostgreSQL) leased
  std::int64_t lease_until = 0;
};
std::optional<NewEvents> lease_new_events(db::Connection& c, std::int64_t now, std::int64_t lease_until, int limit);
// A pending delivery of the event to one endpoint (the test event); returns its id.
std::int64_t deliver_to(db::Connection& c, std::int64_t event_id, std::int64_t endpoint_id, std::int64_t now);

// A delivery the worker has claimed, with what sending it needs.
struct Claimed {
  std::int64_t id = 0;
  std::int64_t attempts = 0;  // including this one; the fencing token
  std::int64_t event_id = 0;
  std::string type;
  std::string payload;
  std::int64_t event_created_at = 0;
  std::int64_t endpoint_id = 0;
  std::string url;
  bool enabled = true;
  std::string secret;
  std::optional<std::string> previous_secret;
  std::optional<std::int64_t> previous_secret_until;
};
// A delivery leased to this worker: its id and the attempt it is on (the fencing token).
struct Leased {
  std::int64_t id = 0;
  std::int64_t attempts = 0;
};
// Leases due deliveries, oldest first (a write transaction).
std::vector<Leased> claim_due(db::Connection& c, std::int64_t now, std::int64_t lease_until, int limit);
// What sending them needs (a read: on SQLite it keeps the one writer free for the sales); a delivery
// whose endpoint was deleted meanwhile is left out.
std::vector<Claimed> claimed_details(db::Connection& c, const std::vector<Leased>& leased);

// What one attempt came to, recorded with the delivery's new status.
struct Outcome {
  std::int64_t at = 0;
  std::optional<std::int64_t> status_code;
  std::int64_t latency_ms = 0;
  std::optional<std::string> answer;
  std::optional<std::string> error;
};
// Each applies only while the claim is ours (status 'sending' and the same attempts); false otherwise.
bool mark_succeeded(db::Connection& c, const Claimed& d, const Outcome& o);
bool schedule_retry(db::Connection& c, const Claimed& d, const Outcome& o, std::int64_t next_attempt_at);
bool mark_failed(db::Connection& c, const Claimed& d, const Outcome& o);
bool release(db::Connection& c, const Claimed& d, std::int64_t now);  // not attempted: pending again

// An endpoint's record of failure: cleared by a success; a failure starts it (or starts it anew when the
// last failure was before `quiet_since`: no attempt failed for longer than a failing endpoint's retries
// leave), and disables the endpoint once it began at or before `disable_if_failing_since`. Returns true
// when this call disabled it.
void endpoint_succeeded(db::Connection& c, std::int64_t endpoint_id);
bool endpoint_failed(db::Connection& c, std::int64_t endpoint_id, std::int64_t now, std::int64_t quiet_since,
                     std::int64_t disable_if_failing_since);

// The leased events' deliveries, oldest first: each event with each endpoint that existed before it and
// is enabled and subscribed to its type now, as attempt 1 of a delivery that has no row yet (id 0). A read.
std::vector<Claimed> new_deliveries(db::Connection& c, const NewEvents& leased);
// The cursor moves past the leased events, whose deliveries the same transaction writes (insert_new).
// False, and nothing moves, when the lease is no longer this worker's.
bool pass_new_events(db::Connection& c, const NewEvents& leased);
// The endpoints that still exist, for a batch's new delivery rows: one deleted while its deliveries
// were sent gets none (its rows would break the foreign key and roll the whole batch back). On
// PostgreSQL they are locked FOR KEY SHARE, so none is deleted before the batch commits.
std::set<std::int64_t> existing_endpoints(db::Connection& c);
// A new delivery's row, with its status after the first attempt ('succeeded', 'pending' for a retry at
// `next_attempt_at`, 'failed'), or 'pending' with no attempt (not attempted: due at `next_attempt_at`).
// `then` hears false when the row existed already. On PostgreSQL the row is sent with the
// transaction's next statement or its COMMIT (db::Connection::defer), so a batch of them is one round
// trip, and `then` hears once that is answered; on SQLite at once.
void insert_new(db::Connection& c, const Claimed& d, std::string_view status, std::int64_t next_attempt_at,
                const std::optional<Outcome>& outcome, std::function<void(bool inserted)> then);

// What staff see of a delivery.
struct Delivery {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  std::string type;
  std::int64_t endpoint_id = 0;
  std::string status;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<std::int64_t> last_attempt_at;
  std::optional<std::int64_t> last_status_code;
  std::optional<std::int64_t> last_latency_ms;
  std::optional<std::string> last_response;
  std::optional<std::string> last_error;
  std::int64_t created_at = 0;
  std::int64_t event_created_at = 0;
};
std::int64_t count_deliveries(db::Connection& c, std::int64_t endpoint_id, const std::optional<std::string>& status);
std::vector<Delivery> list_deliveries(db::Connection& c, std::int64_t endpoint_id,
                                      const std::optional<std::string>& status, std::int64_t limit,
                                      std::int64_t offset);
std::optional<Delivery> find_delivery(db::Connection& c, std::int64_t id);
// A finished or waiting delivery made due now with a fresh schedule; one being sent is left alone.
void redeliver(db::Connection& c, std::int64_t id, std::int64_t now);

struct QueueStats {
  std::int64_t depth = 0;  // pending + sending deliveries, and the events not sent yet
  std::optional<std::int64_t> oldest_created_at;
};
QueueStats queue_stats(db::Connection& c);

// Forgets events older than `before` whose every delivery is over (succeeded or failed), with those
// deliveries: at most `limit` events a call, oldest first. Returns how many events went.
int purge(db::Connection& c, std::int64_t before, int limit);

}  // namespace webhooks::repo
