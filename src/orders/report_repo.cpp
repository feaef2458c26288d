#include "orders/report_repo.hpp"

namespace orders::repo {
namespace {

// The page's orders are chosen first (by the primary key, after the last one exported), then joined
// with their customers and lines: a page is `$5` orders whatever their lines, and the next page
// starts where this one ended, not at an OFFSET that would read every row before it again.
constexpr std::string_view kExportLines =
    "SELECT o.id, o.created_at, o.status, o.payment_status, o.fulfilment_status, u.username, u.email,"
    " o.total_amount, o.refunded_amount, i.id, i.product_id, i.product, i.price, i.quantity"
    " FROM (SELECT id, user_id, created_at, status, payment_status, fulfilment_status, total_amount, refunded_amount"
    "       FROM orders WHERE id > $1 AND (CAST($2 AS TEXT) IS NULL OR status = $2)"
    "       AND created_at >= $3 AND created_at < $4"
    "       AND (CAST($6 AS TEXT) IS NULL OR user_id IN (SELECT id FROM users"
    "            WHERE lower(username) LIKE $6 ESCAPE '\\' OR email LIKE $6 ESCAPE '\\'))"
    "       ORDER BY id LIMIT $5) AS o"
    " JOIN users u ON u.id = o.user_id JOIN order_items i ON i.order_id = o.id"
    " ORDER BY o.id, i.id";

// Each figure by 15-minute slot from $1 (integer division in both dialects). A read-only report: like
// the listings' join with users, it reads payments' and refunds' settle times without changing them.
constexpr std::string_view kSalesSlots =
    "SELECT 0, (created_at - $1) / $3, count(*), 0 FROM orders"
    " WHERE created_at >= $1 AND created_at < $2 GROUP BY 2"
    " UNION ALL"
    " SELECT 1, (p.updated_at - $1) / $3, count(*), CAST(SUM(p.amount) AS BIGINT) FROM payments p"
    " WHERE p.status = 'succeeded' AND p.updated_at >= $1 AND p.updated_at < $2 GROUP BY 2"
    " UNION ALL"
    " SELECT 2, (r.updated_at - $1) / $3, count(*), CAST(SUM(r.amount) AS BIGINT) FROM refunds r"
    " WHERE r.status = 'succeeded' AND r.updated_at >= $1 AND r.updated_at < $2 GROUP BY 2"
    " UNION ALL"
    " SELECT 3, (updated_at - $1) / $3, count(*), 0 FROM orders"
    " WHERE status = 'cancelled' AND updated_at >= $1 AND updated_at < $2 GROUP BY 2";
constexpr std::string_view kTopProducts =
    "SELECT i.product_id, MAX(i.product), CAST(SUM(i.quantity) AS BIGINT), CAST(SUM(i.price * i.quantity) AS BIGINT)"
    " FROM payments p JOIN order_items i ON i.order_id = p.order_id"
    " WHERE p.status = 'succeeded' AND p.updated_at >= $1 AND p.updated_at < $2"
    " GROUP BY i.product_id ORDER BY 4 DESC, 3 DESC, 1 LIMIT $3";

}  // namespace

std::vector<SlotFigure> sales_slots(db::Connection& c, std::int64_t start, std::int64_t stop) {
  auto r = c.query(kSalesSlots, start, stop, kSlotMicros);
  std::vector<SlotFigure> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto row = r[i];
    out.push_back({static_cast<SalesFigure>(row.integer(0)), row.integer(1), row.integer(2), row.integer(3)});
  }
  return out;
}

std::vector<ProductSales> top_products(db::Connection& c, std::int64_t start, std::int64_t stop, std::int64_t limit) {
  auto r = c.query(kTopProducts, start, stop, limit);
  std::vector<ProductSales> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto row = r[i];
    out.push_back({row.integer(0), row.text(1), row.integer(2), row.integer(3)});
  }
  return out;
}

std::vector<ExportLine> export_lines(db::Connection& c, const ExportFilter& filter, std::int64_t after_id,
                                     std::int64_t orders) {
  auto r = c.query(kExportLines, after_id, filter.status, filter.from, filter.to, orders, filter.customer_pattern);
  std::vector<ExportLine> lines;
  lines.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto row = r[i];
    lines.push_back({row.integer(0), row.integer(1), row.text(2), row.text(3), row.text(4), row.text(5), row.text(6),
                     row.integer(7), row.integer(8), row.integer(9), row.integer(10), row.text(11), row.integer(12),
                     row.integer(13)});
  }
  return lines;
}

}  // namespace orders::repo
