#include "payments/repo.hpp"

#include "orders/repo.hpp"

#include <algorithm>

namespace payments::repo {
namespace {

constexpr std::string_view kInsert =
    "INSERT INTO payments (order_id, user_id, amount, status, idempotency_key, card_brand, card_last4, created_at,"
    " updated_at) VALUES ($1, $2, $3, 'processing', $4, $5, $6, $7, $7) RETURNING id";
// orders' hold for a payment with the owner and the amount added to its conditions, and the payment
// inserted from the order it held: $1 the order, $2 now, $3 the user, $4 the amount, $5 the key,
// $6 the card's brand, $7 its last four digits.
constexpr auto kClaimAtOnce = db::concat(
    "WITH held AS (", orders::repo::kBeginPayment, " AND user_id = $3 AND total_amount = $4 RETURNING id)"
    " INSERT INTO payments (order_id, user_id, amount, status, idempotency_key, card_brand, card_last4, created_at,"
    " updated_at) SELECT id, CAST($3 AS BIGINT), CAST($4 AS BIGINT), 'processing', $5, $6, $7, $2, $2 FROM held"
    " RETURNING id");
constexpr std::string_view kSettle =
    "UPDATE payments SET status = $2, gateway_reference = $3, decline_code = $4, updated_at = $5"
    " WHERE id = $1 AND status = 'processing'";
// The columns rows() reads, in its order.
constexpr auto kColumns = db::concat(
    "id, order_id, user_id, amount, status, idempotency_key, gateway_reference, decline_code, card_brand, card_last4,"
    " created_at");
constexpr auto kForOrder = db::concat("SELECT ", kColumns, " FROM payments WHERE order_id = $1 ORDER BY id");
// kSettle returning the settled row, with the order's other attempts (unchanged by it, so the
// statement's snapshot shows them as they are): no row when it was no longer processing.
constexpr auto kSettleAndListPostgres = db::concat(
    "WITH settled AS (UPDATE payments SET status = $2, gateway_reference = $3, decline_code = $4, updated_at = $5"
    " WHERE id = $1 AND status = 'processing' RETURNING ", kColumns, ")"
    " SELECT ", kColumns, " FROM settled UNION ALL SELECT ", kColumns, " FROM payments"
    " WHERE order_id = (SELECT order_id FROM settled) AND id <> $1 ORDER BY id");
// The same claim for both dialects; PostgreSQL locks the rows it picks and skips those another node holds.
constexpr auto kStale =
    db::concat("SELECT id FROM payments WHERE status = 'processing' AND updated_at < $1 ORDER BY updated_at LIMIT $2");
constexpr auto kClaimStaleSqlite =
    db::concat("UPDATE payments SET updated_at = $3 WHERE id IN (", kStale, ") RETURNING ", kColumns);
constexpr auto kClaimStalePostgres = db::concat("UPDATE payments SET updated_at = $3 WHERE id IN (", kStale,
                                                " FOR UPDATE SKIP LOCKED) RETURNING ", kColumns);

std::optional<std::string> unless_empty(const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); }

std::vector<PaymentRow> rows(const db::Result& r) {
  std::vector<PaymentRow> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto row = r[i];
    out.push_back({row.integer(0), row.integer(1), row.integer(2), row.integer(3), row.text(4), row.text(5),
                   row.optional_text(6), row.optional_text(7), row.text(8), row.text(9), row.integer(10)});
  }
  return out;
}

}  // namespace

std::int64_t insert_processing(db::Connection& c, const NewPayment& p, std::int64_t now) {
  return c.query(kInsert, p.order_id, p.user_id, p.amount, p.idempotency_key, p.card_brand, p.card_last4, now)[0]
      .integer(0);
}

std::optional<std::int64_t> claim_at_once(db::Connection& c, const NewPayment& p, std::int64_t now) {
  if (c.dialect() != db::Dialect::postgres) return std::nullopt;
  auto r = c.query(kClaimAtOnce, p.order_id, now, p.user_id, p.amount, p.idempotency_key, p.card_brand, p.card_last4);
  if (auto row = r.first()) return row->integer(0);
  return std::nullopt;
}

bool settle(db::Connection& c, std::int64_t id, std::string_view status, const std::string& reference,
            const std::string& decline_code, std::int64_t now) {
  return c.query(kSettle, id, status, unless_empty(reference), unless_empty(decline_code), now).affected_rows == 1;
}

std::optional<std::vector<PaymentRow>> settle_and_list(db::Connection& c, std::int64_t id, std::int64_t order_id,
                                                       std::string_view status, const std::string& reference,
                                                       const std::string& decline_code, std::int64_t now) {
  if (c.dialect() != db::Dialect::postgres) {  // statements here are calls into this process: two are as cheap
    if (!settle(c, id, status, reference, decline_code, now)) return std::nullopt;
    return for_order(c, order_id);
  }
  auto all = rows(c.query(kSettleAndListPostgres, id, status, unless_empty(reference), unless_empty(decline_code), now));
  if (all.empty()) return std::nullopt;
  return all;
}

std::vector<PaymentRow> claim_stale_processing(db::Connection& c, std::int64_t before, std::int64_t now,
                                               std::int64_t limit) {
  auto claimed = rows(c.query(c.sql(kClaimStaleSqlite, kClaimStalePostgres), before, limit, now));
  // RETURNING gives no order guarantee; settle the oldest first.
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return claimed;
}

std::vector<PaymentRow> for_order(db::Connection& c, std::int64_t order_id) {
  return rows(c.query(kForOrder, order_id));
}

}  // namespace payments::repo
