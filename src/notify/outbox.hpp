#pragma once
// The email outbox: rows written inside the transaction that causes a message, delivered later by
// notify::OutboxWorker. These functions run on a connection the caller's transaction provides.
//
// Delivery is at-least-once: a crash between the SMTP server accepting a message and mark_sent()
// committing sends it again after the lease expires. Every message carries a Message-ID derived
// from its row (message_id()), so receivers can recognise the repeat.

#include "db/database.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace notify {

// The kinds of email, one set of templates each (templates/email/<kind>.{subject,html,txt}.mustache).
// password_reset and email_verification are about an account, not an order (notify/account_emails.hpp:
// no order, sealed links); low_stock is to staff about a product (notify/low_stock.hpp).
inline constexpr std::string_view kOrderConfirmation = "order_confirmation", kOrderShipped = "order_shipped",
                                  kRefundIssued = "refund_issued", kOrderCancelled = "order_cancelled",
                                  kOrderExpired = "order_expired", kPasswordReset = "password_reset",
                                  kEmailVerification = "email_verification", kLowStock = "low_stock";
inline constexpr std::array<std::string_view, 8> kEmailKinds = {
    kOrderConfirmation, kOrderShipped, kRefundIssued, kOrderCancelled, kOrderExpired, kPasswordReset,
    kEmailVerification, kLowStock};

// A row's statuses (the CHECK on outbox.status): pending -> sending (claimed) -> sent, or back to
// pending (a retry), or failed (given up); staff resend a sent or failed row (pending again).
inline constexpr std::array<std::string_view, 4> kEmailStatuses = {"pending", "sending", "sent", "failed"};

// Queues one email of `kind` about `order_id`; `ref` tells apart several of one kind for one order
// (the fulfilment's or refund's id; 0 when there is only one). A second call with the same
// (kind, order_id, ref) is ignored (UNIQUE (kind, order_id, ref) of migration 010), so a retried
// transaction cannot queue two. Call it inside the transaction that makes the change, so the email
// exists exactly when the change does: the row is written with the transaction's next statement or
// its COMMIT (db::Connection::defer; no round trip of its own on PostgreSQL), and its failure fails
// the transaction. `context` holds raw values (docs/contract.md, "Emails": money as "130.00", times
// as RFC 3339); shop_name, currency and the display forms of money and times are added when the
// message is rendered (notify/templates.hpp).
void enqueue(db::Connection& c, std::string_view kind, std::int64_t order_id, std::int64_t ref,
             const std::string& recipient, const boost::json::object& context);

// The confirmation email of a paid order: enqueue(c, kOrderConfirmation, order_id, 0, ...), called by
// the payment's settle.
void enqueue_order_confirmation(db::Connection& c, std::int64_t order_id, const std::string& recipient,
                                const boost::json::object& context);

// A row the worker has claimed.
struct ClaimedEmail {
  std::int64_t id = 0;
  std::string kind;
  std::string recipient;
  std::string payload;  // JSON template context
  std::int64_t attempts = 0;  // including this one; also the fencing token for the marks below
  std::int64_t created_at = 0;
};

// Claims up to `limit` due rows (pending and due, or `sending` with an expired lease) for this worker:
// status 'sending', locked_until = lease_until, attempts + 1. Run it in its own short transaction.
std::vector<ClaimedEmail> claim_due(db::Connection& c, std::int64_t now,
                                    std::int64_t lease_until, int limit);

// The outcome of a send. Each only applies while the row is still the claim we made (status
// 'sending' and the same attempts), so a worker whose lease expired cannot overwrite a newer claim.
// They return false when the claim was lost.
bool mark_sent(db::Connection& c, const ClaimedEmail& e, std::int64_t now);
bool schedule_retry(db::Connection& c, const ClaimedEmail& e, std::int64_t next_attempt_at, std::string_view error);
bool mark_failed(db::Connection& c, const ClaimedEmail& e, std::string_view error);
// Gives back a claimed row that was not attempted (the worker is stopping): pending, due now, and
// the attempt it was charged is returned.
bool release(db::Connection& c, const ClaimedEmail& e, std::int64_t now);

// Capped exponential backoff after `attempts` failed attempts: 1 s, 2 s, 4 s, ... up to `cap`.
std::chrono::milliseconds retry_delay(std::int64_t attempts, std::chrono::milliseconds cap);

// The Message-ID of a row: stable across retries of that row, distinct across databases that
// reuse ids (it includes the creation time). `domain` is the right-hand side, e.g. the From domain.
std::string message_id(std::int64_t id, std::int64_t created_at, std::string_view domain);

// What staff see of a row (GET /admin/emails/).
struct EmailRow {
  std::int64_t id = 0;
  std::string kind;
  std::optional<std::int64_t> order_id;
  std::string recipient;
  std::string status;
  std::int64_t attempts = 0;
  std::optional<std::string> last_error;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> sent_at;
  std::int64_t next_attempt_at = 0;
};
boost::json::object to_json(const EmailRow& row);

// Rows newest first, optionally only one status.
std::int64_t count_emails(db::Connection& c, const std::optional<std::string>& status);
std::vector<EmailRow> list_emails(db::Connection& c, const std::optional<std::string>& status, std::int64_t limit,
                                  std::int64_t offset);
std::optional<EmailRow> find_email(db::Connection& c, std::int64_t id);
// What a row renders from (the staff preview).
struct StoredEmail {
  std::string kind;
  std::string recipient;
  std::string payload;  // JSON template context
};
std::optional<StoredEmail> find_content(db::Connection& c, std::int64_t id);
// The newest email of `kind` queued about an order (`orderd email preview KIND ORDER_ID`).
std::optional<StoredEmail> find_for_order(db::Connection& c, std::string_view kind, std::int64_t order_id);

// Makes a row due now with a fresh attempt budget: a sent or failed row goes back to pending, a
// pending one is brought forward; a row being sent right now is left alone. nullopt: no such row.
std::optional<EmailRow> resend(db::Connection& c, std::int64_t id, std::int64_t now);

// Forgets up to `limit` sent or failed emails created before `before`, and up to `limit` low-stock
// crossings from before it that no email names (each product's latest is kept). Returns how many rows.
std::int64_t purge_finished(db::Connection& c, std::int64_t before, std::int64_t limit);

// Undelivered rows (pending + sending) and the creation time of the oldest, for the gauges.
struct QueueStats {
  std::int64_t depth = 0;
  std::optional<std::int64_t> oldest_created_at;
};
QueueStats queue_stats(db::Connection& c);

}  // namespace notify
