#pragma once
// The low-stock email (issue #22): when a product's stock falls below low_stock_threshold
// (catalog::StockWatch reports the crossing once, inside the transaction that lowered it), every
// staff account that opted in gets one email through the outbox, queued in that same transaction.
//
// A crossing is a row of low_stock_crossings (migration 013); its id is the outbox rows' ref, and the
// unique index outbox_low_stock_once (ref, recipient) keeps one email per crossing per staff member.
// The rows have no order (order_id NULL), like the account emails.

#include "db/database.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace notify {

// What an alert says: the product as it is after the change that crossed the line.
struct LowStockAlert {
  std::int64_t product_id = 0;
  std::string product;  // its name
  std::string price;    // "50.00", as the API writes money
  std::int64_t stock = 0;
  std::int64_t threshold = 0;
  std::int64_t crossed_at = 0;  // microseconds since the epoch
};

struct StaffRecipient {
  std::string username;
  std::string email;
};

// One email's template context (docs/contract.md, "Emails", low_stock).
boost::json::object low_stock_context(const LowStockAlert& alert, const StaffRecipient& to);

// Records the crossing and queues one low_stock email per recipient, on the caller's connection
// (inside the transaction that lowered the stock), unless the product's last alert still stands (no
// staff change of it since). Returns how many emails were queued.
std::size_t enqueue_low_stock(db::Connection& c, const LowStockAlert& alert,
                              const std::vector<StaffRecipient>& recipients);

}  // namespace notify
