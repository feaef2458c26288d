#include "notify/low_stock.hpp"

#include "common/clock.hpp"
#include "notify/outbox.hpp"

#include <boost/json/serialize.hpp>

namespace notify {
namespace {

// Whether the product's last crossing came after staff last changed it (products.updated_at moves with
// staff's edits only, never with a sale or a returned reservation): then stock has come back only from
// cancelled or expired orders, and the alert the staff had still stands.
constexpr std::string_view kAlertStands =
    "SELECT 1 FROM low_stock_crossings x JOIN products p ON p.id = x.product_id WHERE x.product_id = $1"
    " AND x.id = (SELECT MAX(id) FROM low_stock_crossings WHERE product_id = $1) AND x.crossed_at >= p.updated_at";
constexpr std::string_view kRecordCrossing =
    "INSERT INTO low_stock_crossings (product_id, stock, threshold, crossed_at) VALUES ($1, $2, $3, $4) RETURNING id";
// No conflict target: the one that can fire is outbox_low_stock_once (ref, recipient), a partial
// index, which both dialects honour with a bare ON CONFLICT DO NOTHING.
constexpr std::string_view kEnqueueAlert =
    "INSERT INTO outbox (kind, order_id, ref, recipient, payload, status, attempts, next_attempt_at, created_at)"
    " VALUES ($1, NULL, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT DO NOTHING RETURNING id";

}  // namespace

boost::json::object low_stock_context(const LowStockAlert& alert, const StaffRecipient& to) {
  return {{"product_id", alert.product_id},
          {"product", alert.product},
          {"price", alert.price},
          {"stock", alert.stock},
          {"threshold", alert.threshold},
          {"crossed_at", common::format_rfc3339(alert.crossed_at)},
          {"username", to.username},
          {"email", to.email}};
}

std::size_t enqueue_low_stock(db::Connection& c, const LowStockAlert& alert,
                              const std::vector<StaffRecipient>& recipients) {
  // One customer placing and cancelling in a loop crossed the line each time: an audit had 900 emails
  // sent to three staff members in 2.3 s. A new alert needs a staff change since the last one.
  if (!c.query(kAlertStands, alert.product_id).empty()) return 0;
  auto crossing = c.query(kRecordCrossing, alert.product_id, alert.stock, alert.threshold, alert.crossed_at)[0]
                      .integer(0);
  auto now = common::now_micros();
  std::size_t queued = 0;
  for (const auto& to : recipients) {
    auto payload = boost::json::serialize(low_stock_context(alert, to));
    if (!c.query(kEnqueueAlert, kLowStock, crossing, to.email, payload, now).empty()) ++queued;
  }
  return queued;
}

}  // namespace notify
