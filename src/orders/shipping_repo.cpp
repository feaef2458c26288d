#include "orders/shipping_repo.hpp"

#include "orders/repo.hpp"

#include <stdexcept>

namespace orders::repo {
namespace {

constexpr auto kLockOrderSqlite = db::concat("SELECT status FROM orders WHERE id = $1");
constexpr auto kLockOrderPostgres = db::concat(kLockOrderSqlite, " FOR UPDATE");

// The guards are the rules: each statement checks and adds in one step.
constexpr std::string_view kShipUnits =
    "UPDATE order_items SET shipped = shipped + $2 WHERE id = $1 AND shipped + $2 <= quantity";
constexpr std::string_view kDeliverUnits =
    "UPDATE order_items SET delivered = delivered + $2 WHERE id = $1 AND delivered + $2 <= shipped";
constexpr std::string_view kReturnUnits =
    "UPDATE order_items SET returned = returned + $2 WHERE id = $1 AND returned + $2 <= shipped";

constexpr std::string_view kInsertFulfilment =
    "INSERT INTO fulfilments (order_id, carrier, tracking_number, tracking_url, shipped_at, created_by)"
    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
constexpr std::string_view kInsertFulfilmentItem =
    "INSERT INTO fulfilment_items (fulfilment_id, order_item_id, quantity) VALUES ($1, $2, $3)";
constexpr std::string_view kFulfilmentLines =
    "SELECT fi.order_item_id, fi.quantity FROM fulfilments f JOIN fulfilment_items fi ON fi.fulfilment_id = f.id"
    " WHERE f.id = $1 AND f.order_id = $2 ORDER BY fi.order_item_id";
constexpr std::string_view kMarkDelivered =
    "UPDATE fulfilments SET delivered_at = $2 WHERE id = $1 AND delivered_at IS NULL";

constexpr std::string_view kInsertReturn =
    "INSERT INTO returns (order_id, reason, created_at, created_by) VALUES ($1, $2, $3, $4) RETURNING id";
constexpr std::string_view kInsertReturnItem =
    "INSERT INTO return_items (return_id, order_item_id, quantity, restocked) VALUES ($1, $2, $3, $4)";

// The one write of fulfilment_status; fulfilment_writes() names it for the unit test.
constexpr std::string_view kMoveFulfilment =
    "UPDATE orders SET fulfilment_status = $2 WHERE id = $1 AND fulfilment_status = $3";

}  // namespace

std::optional<std::string> lock_order(db::Connection& c, std::int64_t order_id) {
  auto r = c.query(c.sql(kLockOrderSqlite, kLockOrderPostgres), order_id);
  if (r.empty()) return std::nullopt;
  return r[0].text(0);
}

bool ship_units(db::Connection& c, std::int64_t line_id, std::int64_t units) {
  return c.query(kShipUnits, line_id, units).affected_rows == 1;
}

bool deliver_units(db::Connection& c, std::int64_t line_id, std::int64_t units) {
  return c.query(kDeliverUnits, line_id, units).affected_rows == 1;
}

bool return_units(db::Connection& c, std::int64_t line_id, std::int64_t units) {
  return c.query(kReturnUnits, line_id, units).affected_rows == 1;
}

std::int64_t insert_fulfilment(db::Connection& c, const NewFulfilment& f) {
  std::optional<std::int64_t> staff = f.staff_id > 0 ? std::optional(f.staff_id) : std::nullopt;
  return c.query(kInsertFulfilment, f.order_id, f.carrier, f.tracking_number, f.tracking_url, f.shipped_at, staff)[0]
      .integer(0);
}

void insert_fulfilment_item(db::Connection& c, std::int64_t fulfilment_id, std::int64_t line_id, std::int64_t units) {
  c.query(kInsertFulfilmentItem, fulfilment_id, line_id, units);
}

std::optional<std::vector<FulfilmentLine>> fulfilment_lines(db::Connection& c, std::int64_t order_id,
                                                            std::int64_t fulfilment_id) {
  auto r = c.query(kFulfilmentLines, fulfilment_id, order_id);
  if (r.empty()) return std::nullopt;  // a fulfilment always has a line
  std::vector<FulfilmentLine> lines;
  for (std::size_t i = 0; i < r.size(); ++i) lines.push_back({r[i].integer(0), r[i].integer(1)});
  return lines;
}

bool mark_delivered(db::Connection& c, std::int64_t fulfilment_id, std::int64_t now) {
  return c.query(kMarkDelivered, fulfilment_id, now).affected_rows == 1;
}

std::int64_t insert_return(db::Connection& c, std::int64_t order_id, const std::string& reason, std::int64_t now,
                           std::int64_t staff_id) {
  std::optional<std::int64_t> staff = staff_id > 0 ? std::optional(staff_id) : std::nullopt;
  return c.query(kInsertReturn, order_id, reason, now, staff)[0].integer(0);
}

void insert_return_item(db::Connection& c, std::int64_t return_id, std::int64_t line_id, std::int64_t units,
                        std::int64_t restocked) {
  c.query(kInsertReturnItem, return_id, line_id, units, restocked);
}

bool move_fulfilment(db::Connection& c, std::int64_t order_id, FulfilmentStatus from, FulfilmentStatus to) {
  if (!can_move(from, to)) {
    throw std::logic_error("fulfilment_status cannot move from " + std::string(to_string(from)) + " to " +
                           std::string(to_string(to)));
  }
  return c.query(kMoveFulfilment, order_id, to_string(to), to_string(from)).affected_rows == 1;
}

std::span<const FulfilmentWrite> fulfilment_writes() {
  // Its move is a parameter: move_fulfilment() checks it against the table before it runs.
  static constexpr FulfilmentWrite kWrites[] = {
      {"move_fulfilment", kMoveFulfilment, std::nullopt, std::nullopt},
  };
  return kWrites;
}

}  // namespace orders::repo
