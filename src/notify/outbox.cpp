#include "notify/outbox.hpp"

#include "common/clock.hpp"
#include "db/lease.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace notify {
namespace {

// ON CONFLICT DO NOTHING: the transaction that queues an email may run twice (a retry after a lost
// response, a database retry); UNIQUE (kind, order_id, ref) keeps one. Both SQLite and PostgreSQL
// accept this form.
constexpr std::string_view kEnqueue =
    "INSERT INTO outbox (kind, order_id, ref, recipient, payload, status, attempts, next_attempt_at, created_at)"
    " VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)"
    " ON CONFLICT (kind, order_id, ref) DO NOTHING";

// The claim (db/lease.hpp explains it): due rows leased in one UPDATE, SKIP LOCKED on PostgreSQL.
constexpr char kOutboxTable[] = "outbox";
constexpr char kClaimedColumns[] = "id, kind, recipient, payload, attempts, created_at";
using Claim = db::LeaseClaim<kOutboxTable, kClaimedColumns>;

constexpr std::string_view kMarkSent =
    "UPDATE outbox SET status = 'sent', sent_at = $3, locked_until = NULL"
    " WHERE id = $1 AND status = 'sending' AND attempts = $2";
constexpr std::string_view kScheduleRetry =
    "UPDATE outbox SET status = 'pending', next_attempt_at = $3, locked_until = NULL, last_error = $4"
    " WHERE id = $1 AND status = 'sending' AND attempts = $2";
constexpr std::string_view kMarkFailed =
    "UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $3"
    " WHERE id = $1 AND status = 'sending' AND attempts = $2";

constexpr std::string_view kRelease =
    "UPDATE outbox SET status = 'pending', next_attempt_at = $3, locked_until = NULL, attempts = attempts - 1"
    " WHERE id = $1 AND status = 'sending' AND attempts = $2";

// All statuses, and one: two statements, since "$1 IS NULL OR status = $1" kept SQLite from the
// status index (a scan of the whole outbox to count its few pending rows).
constexpr std::string_view kCount = "SELECT COUNT(*) FROM outbox";
constexpr std::string_view kCountWithStatus = "SELECT COUNT(*) FROM outbox WHERE status = $1";
constexpr auto kListed = db::concat(
    "SELECT id, kind, order_id, recipient, status, attempts, last_error, created_at, sent_at, next_attempt_at"
    " FROM outbox");
constexpr auto kList = db::concat(kListed, " ORDER BY id DESC LIMIT $1 OFFSET $2");
constexpr auto kListWithStatus = db::concat(kListed, " WHERE status = $1 ORDER BY id DESC LIMIT $2 OFFSET $3");
constexpr std::string_view kFind =
    "SELECT id, kind, order_id, recipient, status, attempts, last_error, created_at, sent_at, next_attempt_at"
    " FROM outbox WHERE id = $1";
constexpr std::string_view kFindContent = "SELECT kind, recipient, payload FROM outbox WHERE id = $1";
constexpr std::string_view kFindForOrder =
    "SELECT kind, recipient, payload FROM outbox WHERE kind = $1 AND order_id = $2 ORDER BY id DESC LIMIT 1";
constexpr std::string_view kResend =
    "UPDATE outbox SET status = 'pending', next_attempt_at = $2, attempts = 0, locked_until = NULL, sent_at = NULL"
    " WHERE id = $1 AND status IN ('pending', 'sent', 'failed')";
// Counted from the index alone; the oldest is the lowest id (ids are given in the order rows are
// written), so only that one row is read, not every waiting row's created_at.
constexpr std::string_view kQueueStats =
    "SELECT waiting, (SELECT created_at FROM outbox WHERE id = oldest)"
    " FROM (SELECT COUNT(*) AS waiting, MIN(id) AS oldest FROM outbox WHERE status IN ('pending', 'sending')) AS q";

// The oldest finished emails (a batch), then the low-stock crossings no email names any more, each
// product's latest kept: notify/low_stock.cpp reads it to know whether its alert still stands.
// The oldest first by outbox_finished (migration 019), which holds finished rows only. SQLite's planner,
// without statistics, would take outbox_due's status prefix and sort every finished row instead.
// The oldest finished emails first, through migration 019's partial index; SQLite is told to use it.
constexpr auto kOldestFinished =
    db::concat(" WHERE status IN ('sent', 'failed') AND created_at < $1 ORDER BY created_at LIMIT $2)");
constexpr auto kPurgeFinished = db::concat("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox", kOldestFinished);
constexpr auto kPurgeFinishedSqlite =
    db::concat("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_finished", kOldestFinished);
constexpr std::string_view kPurgeCrossings =
    "DELETE FROM low_stock_crossings WHERE id IN (SELECT x.id FROM low_stock_crossings x WHERE x.crossed_at < $1"
    " AND x.id < (SELECT MAX(y.id) FROM low_stock_crossings y WHERE y.product_id = x.product_id)"
    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'low_stock' AND o.ref = x.id) ORDER BY x.id LIMIT $2)";

EmailRow email_row(const db::Row& r) {
  return EmailRow{r.integer(0),          r.text(1),    r.optional_integer(2), r.text(3),
                  r.text(4),             r.integer(5), r.optional_text(6),    r.integer(7),
                  r.optional_integer(8), r.integer(9)};
}

boost::json::value optional_time(const std::optional<std::int64_t>& micros) {
  if (!micros) return nullptr;
  return boost::json::value(common::format_rfc3339(*micros));
}

}  // namespace

void enqueue(db::Connection& c, std::string_view kind, std::int64_t order_id, std::int64_t ref,
             const std::string& recipient, const boost::json::object& context) {
  c.defer(nullptr, kEnqueue, kind, order_id, ref, recipient, boost::json::serialize(context), common::now_micros());
}

void enqueue_order_confirmation(db::Connection& c, std::int64_t order_id, const std::string& recipient,
                                const boost::json::object& context) {
  enqueue(c, kOrderConfirmation, order_id, 0, recipient, context);
}

std::vector<ClaimedEmail> claim_due(db::Connection& c, std::int64_t now, std::int64_t lease_until, int limit) {
  auto r = c.query(c.sql(Claim::sqlite, Claim::postgres), now, lease_until, limit);
  std::vector<ClaimedEmail> claimed;
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto row = r[i];
    claimed.push_back({row.integer(0), row.text(1), row.text(2), row.text(3), row.integer(4), row.integer(5)});
  }
  // RETURNING gives no order guarantee; send oldest first.
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return claimed;
}

bool mark_sent(db::Connection& c, const ClaimedEmail& e, std::int64_t now) {
  return c.query(kMarkSent, e.id, e.attempts, now).affected_rows == 1;
}

bool schedule_retry(db::Connection& c, const ClaimedEmail& e, std::int64_t next_attempt_at, std::string_view error) {
  return c.query(kScheduleRetry, e.id, e.attempts, next_attempt_at, error).affected_rows == 1;
}

bool mark_failed(db::Connection& c, const ClaimedEmail& e, std::string_view error) {
  return c.query(kMarkFailed, e.id, e.attempts, error).affected_rows == 1;
}

bool release(db::Connection& c, const ClaimedEmail& e, std::int64_t now) {
  return c.query(kRelease, e.id, e.attempts, now).affected_rows == 1;
}

std::chrono::milliseconds retry_delay(std::int64_t attempts, std::chrono::milliseconds cap) {
  using std::chrono::milliseconds;
  milliseconds delay{1000};
  for (std::int64_t i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

std::string message_id(std::int64_t id, std::int64_t created_at, std::string_view domain) {
  return "<orderd.outbox." + std::to_string(id) + "." + std::to_string(created_at) + "@" +
         std::string(domain.empty() ? "localhost" : domain) + ">";
}

boost::json::object to_json(const EmailRow& row) {
  return {{"id", row.id},
          {"kind", row.kind},
          {"order_id", row.order_id ? boost::json::value(*row.order_id) : boost::json::value(nullptr)},
          {"recipient", row.recipient},
          {"status", row.status},
          {"attempts", row.attempts},
          {"last_error", row.last_error ? boost::json::value(*row.last_error) : boost::json::value(nullptr)},
          {"created_at", common::format_rfc3339(row.created_at)},
          {"sent_at", optional_time(row.sent_at)},
          {"next_attempt_at", common::format_rfc3339(row.next_attempt_at)}};
}

std::int64_t count_emails(db::Connection& c, const std::optional<std::string>& status) {
  return (status ? c.query(kCountWithStatus, *status) : c.query(kCount))[0].integer(0);
}

std::vector<EmailRow> list_emails(db::Connection& c, const std::optional<std::string>& status, std::int64_t limit,
                                  std::int64_t offset) {
  auto r = status ? c.query(kListWithStatus, *status, limit, offset) : c.query(kList, limit, offset);
  std::vector<EmailRow> rows;
  for (std::size_t i = 0; i < r.size(); ++i) rows.push_back(email_row(r[i]));
  return rows;
}

std::optional<EmailRow> find_email(db::Connection& c, std::int64_t id) {
  auto r = c.query(kFind, id);
  if (auto row = r.first()) return email_row(*row);
  return std::nullopt;
}

std::optional<StoredEmail> find_content(db::Connection& c, std::int64_t id) {
  auto r = c.query(kFindContent, id);
  if (auto row = r.first()) return StoredEmail{row->text(0), row->text(1), row->text(2)};
  return std::nullopt;
}

std::optional<StoredEmail> find_for_order(db::Connection& c, std::string_view kind, std::int64_t order_id) {
  auto r = c.query(kFindForOrder, kind, order_id);
  if (auto row = r.first()) return StoredEmail{row->text(0), row->text(1), row->text(2)};
  return std::nullopt;
}

std::optional<EmailRow> resend(db::Connection& c, std::int64_t id, std::int64_t now) {
  c.query(kResend, id, now);
  return find_email(c, id);
}

std::int64_t purge_finished(db::Connection& c, std::int64_t before, std::int64_t limit) {
  auto purge = c.dialect() == db::Dialect::sqlite ? std::string_view(kPurgeFinishedSqlite) : kPurgeFinished;
  auto emails = c.query(purge, before, limit).affected_rows;
  return emails + c.query(kPurgeCrossings, before, limit).affected_rows;
}

QueueStats queue_stats(db::Connection& c) {
  auto r = c.query(kQueueStats);
  return {r[0].integer(0), r[0].optional_integer(1)};
}

}  // namespace notify
