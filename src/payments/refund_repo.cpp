#include "payments/refund_repo.hpp"

#include <algorithm>
#include <stdexcept>

namespace payments::refund_repo {
namespace {

constexpr std::string_view kPaidCharge =
    "SELECT id, gateway_reference FROM payments WHERE order_id = $1 AND status = 'succeeded' ORDER BY id LIMIT 1";
constexpr auto kPositionSqlite =
    db::concat("SELECT total_amount, refund_held, refunded_amount, payment_status FROM orders WHERE id = $1");
constexpr auto kPositionPostgres = db::concat(kPositionSqlite, " FOR UPDATE");
// The claim's guard: what refunds hold never passes what was paid, and only a paid order gives back.
// None of these statements touches orders.updated_at: the dashboard reads it as the moment a paid
// order was paid (orders::repo::day_summary).
constexpr std::string_view kHold =
    "UPDATE orders SET refund_held = refund_held + $2"
    " WHERE id = $1 AND refund_held + $2 <= total_amount AND payment_status IN ('paid', 'partially_refunded')";
constexpr std::string_view kRelease =
    "UPDATE orders SET refund_held = refund_held - $2 WHERE id = $1 AND refund_held >= $2";

// A succeeded refund moves payment_status along orders::kPaymentMoves, one guarded statement per move:
// partially while something is left of the total, fully when nothing is.
constexpr auto kAddRefunded = db::concat("UPDATE orders SET refunded_amount = refunded_amount + $2,");
constexpr auto kFits = db::concat(" AND refunded_amount + $2 <= refund_held");
constexpr auto kPart = db::concat(" AND refunded_amount + $2 < total_amount", kFits);
constexpr auto kAll = db::concat(" AND refunded_amount + $2 = total_amount", kFits);
constexpr auto kPaidToPart =
    db::concat(kAddRefunded, " payment_status = 'partially_refunded' WHERE id = $1 AND payment_status = 'paid'", kPart);
constexpr auto kPartToPart = db::concat(
    kAddRefunded, " payment_status = 'partially_refunded' WHERE id = $1 AND payment_status = 'partially_refunded'",
    kPart);
constexpr auto kPaidToAll =
    db::concat(kAddRefunded, " payment_status = 'refunded' WHERE id = $1 AND payment_status = 'paid'", kAll);
constexpr auto kPartToAll = db::concat(
    kAddRefunded, " payment_status = 'refunded' WHERE id = $1 AND payment_status = 'partially_refunded'", kAll);

constexpr std::string_view kInsert =
    "INSERT INTO refunds (order_id, payment_id, return_id, amount, reason, status, idempotency_key, created_by,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'processing', $6, $7, $8, $8) RETURNING id";
constexpr std::string_view kSettle =
    "UPDATE refunds SET status = $2, gateway_reference = $3, failure_code = $4, updated_at = $5"
    " WHERE id = $1 AND status = 'processing'";
constexpr auto kColumns = db::concat(
    "id, order_id, payment_id, return_id, amount, reason, status, idempotency_key, gateway_reference, failure_code,"
    " created_at, updated_at");
constexpr auto kFind = db::concat("SELECT ", kColumns, " FROM refunds WHERE id = $1");
constexpr auto kForOrder = db::concat("SELECT ", kColumns, " FROM refunds WHERE order_id = $1 ORDER BY id");
constexpr std::string_view kChargeReference = "SELECT gateway_reference FROM payments WHERE id = $1";
constexpr auto kStale =
    db::concat("SELECT id FROM refunds WHERE status = 'processing' AND updated_at < $1 ORDER BY updated_at LIMIT $2");
constexpr auto kClaimStaleSqlite =
    db::concat("UPDATE refunds SET updated_at = $3 WHERE id IN (", kStale, ") RETURNING ", kColumns);
constexpr auto kClaimStalePostgres =
    db::concat("UPDATE refunds SET updated_at = $3 WHERE id IN (", kStale, " FOR UPDATE SKIP LOCKED) RETURNING ", kColumns);

std::vector<RefundRow> rows(const db::Result& r) {
  std::vector<RefundRow> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto row = r[i];
    out.push_back({row.integer(0), row.integer(1), row.integer(2), row.optional_integer(3), row.integer(4),
                   row.text(5), row.text(6), row.text(7), row.optional_text(8), row.optional_text(9),
                   row.integer(10), row.integer(11)});
  }
  return out;
}

std::optional<std::string> optional(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

std::optional<PaidCharge> paid_charge(db::Connection& c, std::int64_t order_id) {
  auto r = c.query(kPaidCharge, order_id);
  if (r.empty()) return std::nullopt;
  return PaidCharge{r[0].integer(0), r[0].optional_text(1).value_or("")};
}

std::optional<Position> lock_position(db::Connection& c, std::int64_t order_id) {
  auto r = c.query(c.sql(kPositionSqlite, kPositionPostgres), order_id);
  if (r.empty()) return std::nullopt;
  return Position{r[0].integer(0), r[0].integer(1), r[0].integer(2), r[0].text(3)};
}

bool hold(db::Connection& c, std::int64_t order_id, std::int64_t amount) {
  return c.query(kHold, order_id, amount).affected_rows == 1;
}

bool release(db::Connection& c, std::int64_t order_id, std::int64_t amount) {
  return c.query(kRelease, order_id, amount).affected_rows == 1;
}

bool record_refunded(db::Connection& c, std::int64_t order_id, std::int64_t amount, orders::PaymentStatus from,
                     orders::PaymentStatus to) {
  for (const auto& write : payment_writes()) {
    if (write.from == from && write.to == to) return c.query(write.sql, order_id, amount).affected_rows == 1;
  }
  throw std::logic_error("a refund cannot move payment_status from " + std::string(orders::to_string(from)) + " to " +
                         std::string(orders::to_string(to)));
}

std::int64_t insert_processing(db::Connection& c, const NewRefund& r, std::int64_t now) {
  return c.query(kInsert, r.order_id, r.payment_id, r.return_id, r.amount, r.reason, r.idempotency_key, r.created_by,
                 now)[0]
      .integer(0);
}

std::optional<RefundRow> find(db::Connection& c, std::int64_t id) {
  auto found = rows(c.query(kFind, id));
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::vector<RefundRow> for_order(db::Connection& c, std::int64_t order_id) { return rows(c.query(kForOrder, order_id)); }

std::string charge_reference(db::Connection& c, std::int64_t payment_id) {
  auto r = c.query(kChargeReference, payment_id);
  return r.empty() ? std::string() : r[0].optional_text(0).value_or("");
}

bool settle(db::Connection& c, std::int64_t id, std::string_view status, const std::string& reference,
            const std::string& failure_code, std::int64_t now) {
  return c.query(kSettle, id, status, optional(reference), optional(failure_code), now).affected_rows == 1;
}

std::vector<RefundRow> claim_stale_processing(db::Connection& c, std::int64_t before, std::int64_t now,
                                              std::int64_t limit) {
  auto claimed = rows(c.query(c.sql(kClaimStaleSqlite, kClaimStalePostgres), before, limit, now));
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return claimed;
}

std::span<const PaymentWrite> payment_writes() {
  using enum orders::PaymentStatus;
  static constexpr PaymentWrite kWrites[] = {
      {"record_refunded", kPaidToPart, paid, partially_refunded},
      {"record_refunded", kPartToPart, partially_refunded, partially_refunded},
      {"record_refunded", kPaidToAll, paid, refunded},
      {"record_refunded", kPartToAll, partially_refunded, refunded},
  };
  return kWrites;
}

}  // namespace payments::refund_repo
