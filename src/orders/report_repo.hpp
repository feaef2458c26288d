#pragma once
// The SQL of staff's reports over orders (issue #22): the CSV export's pages (one row per order line,
// read by keyset on the order's id, so every page costs the same however deep into the table it is)
// and the dashboard's sales per day. Reads only; nothing here changes an order.

#include "db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace orders::repo {

// Which orders an export covers: created in [from, to) (microseconds since the epoch), with `status`
// when one is given.
struct ExportFilter {
  std::optional<std::string> status;
  std::int64_t from = 0;
  std::int64_t to = INT64_MAX;
  // Orders of customers whose username or email contains a text, as the orders list's ?search:
  // a LIKE pattern (db::contains_pattern).
  std::optional<std::string> customer_pattern;
};

// One line of an order, with its order's figures (repeated on each of its lines).
struct ExportLine {
  std::int64_t order_id = 0;
  std::int64_t created_at = 0;
  std::string status;
  std::string payment_status;
  std::string fulfilment_status;
  std::string customer;
  std::string email;
  std::int64_t total_amount = 0;     // minor units
  std::int64_t refunded_amount = 0;  // minor units
  std::int64_t item_id = 0;
  std::int64_t product_id = 0;
  std::string product;
  std::int64_t price = 0;  // minor units
  std::int64_t quantity = 0;
};

// The lines of the first `orders` orders after `after_id` (by id) that match, in order id then line id.
std::vector<ExportLine> export_lines(db::Connection& c, const ExportFilter& filter, std::int64_t after_id,
                                     std::int64_t orders);

// Sales over a period, in slots of kSlotMicros (15 minutes) from `start`: every UTC offset in use is
// a multiple of 15 minutes, so no slot straddles a local midnight and the caller can add slots up
// into the shop's days whatever its time zone, from one scan of each table.
inline constexpr std::int64_t kSlotMicros = 15 * 60 * 1'000'000LL;

enum class SalesFigure { placed = 0, paid = 1, refunded = 2, cancelled = 3 };

struct SlotFigure {
  SalesFigure figure = SalesFigure::placed;
  std::int64_t slot = 0;    // (time - start) / kSlotMicros
  std::int64_t count = 0;
  std::int64_t amount = 0;  // minor units: what was paid (paid) or refunded (refunded); 0 otherwise
};

// In [start, stop): orders placed (created_at), orders paid (their payment's settle time, which
// nothing moves afterwards: orders.updated_at moves again on a cancel or a shipment), refunds that
// succeeded (their settle time) and orders cancelled (their last update, which for a cancelled order
// is the cancel). Only slots with something in them are returned.
std::vector<SlotFigure> sales_slots(db::Connection& c, std::int64_t start, std::int64_t stop);

struct ProductSales {
  std::int64_t product_id = 0;
  std::string product;       // the name on its latest order line
  std::int64_t units = 0;
  std::int64_t revenue = 0;  // minor units
};

// The products of the orders paid in [start, stop), by revenue then units, the first `limit`.
std::vector<ProductSales> top_products(db::Connection& c, std::int64_t start, std::int64_t stop, std::int64_t limit);

}  // namespace orders::repo
