#pragma once
// The SQL of what happens to a paid order's goods: fulfilments (shipments), deliveries and returns,
// and the counters on order_items they move. Every counter write is guarded in its own statement
// (shipped never above quantity, delivered and returned never above shipped), so no mix of requests
// on any number of nodes can ship or return a unit twice; fulfilment_status moves only along
// orders/status.hpp's kFulfilmentMoves. Plain SQL, no rules: those are orders/shipping.hpp's.

#include "db/database.hpp"
#include "orders/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace orders::repo {

// Locks a paid order for a change of its goods, first thing in the transaction, so that shipments,
// deliveries and returns of one order (and a staff cancel) take turns and each sees the others'
// counts: FOR UPDATE on PostgreSQL; SQLite's single writer already excludes every other write.
// Returns the order's status, nullopt when there is no such order.
std::optional<std::string> lock_order(db::Connection& c, std::int64_t order_id);

// order_items.shipped += units, unless that would ship more than was ordered: false then.
bool ship_units(db::Connection& c, std::int64_t line_id, std::int64_t units);
// order_items.delivered += units, unless that would exceed what was shipped.
bool deliver_units(db::Connection& c, std::int64_t line_id, std::int64_t units);
// order_items.returned += units, unless that would exceed what was shipped.
bool return_units(db::Connection& c, std::int64_t line_id, std::int64_t units);

struct NewFulfilment {
  std::int64_t order_id = 0;
  std::string carrier;
  std::string tracking_number;
  std::string tracking_url;
  std::int64_t shipped_at = 0;
  std::int64_t staff_id = 0;
};
std::int64_t insert_fulfilment(db::Connection& c, const NewFulfilment& f);
void insert_fulfilment_item(db::Connection& c, std::int64_t fulfilment_id, std::int64_t line_id, std::int64_t units);

struct FulfilmentLine {
  std::int64_t line_id = 0;
  std::int64_t units = 0;
};
// The lines of a fulfilment of `order_id`; nullopt when the order has no such fulfilment.
std::optional<std::vector<FulfilmentLine>> fulfilment_lines(db::Connection& c, std::int64_t order_id,
                                                            std::int64_t fulfilment_id);
// Sets delivered_at once: false when the fulfilment was delivered already.
bool mark_delivered(db::Connection& c, std::int64_t fulfilment_id, std::int64_t now);

std::int64_t insert_return(db::Connection& c, std::int64_t order_id, const std::string& reason, std::int64_t now,
                           std::int64_t staff_id);
void insert_return_item(db::Connection& c, std::int64_t return_id, std::int64_t line_id, std::int64_t units,
                        std::int64_t restocked);

// Moves fulfilment_status from `from` to `to` (a move kFulfilmentMoves allows, else std::logic_error);
// false when the order was no longer in `from`.
bool move_fulfilment(db::Connection& c, std::int64_t order_id, FulfilmentStatus from, FulfilmentStatus to);

}  // namespace orders::repo
