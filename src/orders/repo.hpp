#pragma once
// The orders and order_items tables. Plain SQL, no rules: what may be ordered, and the stock, are
// catalog's (catalog/service.hpp); which status moves are allowed is orders/status.hpp's.

#include "db/database.hpp"
#include "orders/status.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace orders::repo {

struct ItemRow {
  std::int64_t order_id = 0;
  std::int64_t product_id = 0;
  std::string product;
  std::int64_t price = 0;
  std::int64_t quantity = 0;
};

struct OrderRow {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string customer;  // the user's username
  std::string email;     // and address, for the confirmation email
  std::string status;
  std::int64_t total_amount = 0;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::vector<ItemRow> items;
};

std::int64_t insert_order(db::Connection& c, std::int64_t user_id, std::int64_t total, std::int64_t now,
                          std::int64_t expires_at);
void insert_item(db::Connection& c, std::int64_t order_id, const ItemRow& item);

std::optional<OrderRow> find(db::Connection& c, std::int64_t id);

struct Customer {
  std::string username;
  std::string email;
};
Customer customer(db::Connection& c, std::int64_t user_id);
// Orders newest first with their items: one user's (all statuses), or everyone's with `status`, or
// everyone's; `search` (everyone's only) keeps the orders whose customer's username or email
// contains it, case-insensitively.
std::int64_t count(db::Connection& c, std::optional<std::int64_t> user_id, const std::optional<std::string>& status,
                   const std::optional<std::string>& search = std::nullopt);
std::vector<OrderRow> list(db::Connection& c, std::optional<std::int64_t> user_id,
                           const std::optional<std::string>& status, std::int64_t limit, std::int64_t offset,
                           const std::optional<std::string>& search = std::nullopt);

struct DaySummary {
  std::int64_t placed = 0;  // orders created since then
  std::int64_t paid = 0;    // orders paid since then
  std::int64_t revenue = 0;  // their total, minor units
};
DaySummary day_summary(db::Connection& c, std::int64_t since);

// Moves an order from pending_payment to `status` (cancelled or expired: a move orders/status.hpp
// allows, else std::logic_error); false when it was not pending or a payment is in flight (someone
// else settled it first). `overdue_at`: only when it expired by then (the sweeper's guard).
bool leave_pending(db::Connection& c, std::int64_t id, OrderStatus status, std::int64_t now,
                   std::optional<std::int64_t> overdue_at = std::nullopt);
// Marks a pending order as having a charge with the gateway; false when it is not pending, has run
// out of time, or another payment is in flight.
bool begin_payment(db::Connection& c, std::int64_t id, std::int64_t now);
// Ends the charge: `paid` moves the order to paid, otherwise it is payable (or expirable) again.
// Returns false when the order was not in flight.
bool end_payment(db::Connection& c, std::int64_t id, bool paid, std::int64_t now);
// Staff cancel of a paid order (paid -> cancelled), only while no unit of it was shipped; false
// otherwise (no longer paid, or shipped_units() > 0).
bool cancel_paid(db::Connection& c, std::int64_t id, std::int64_t now);
std::int64_t shipped_units(db::Connection& c, std::int64_t order_id);
std::vector<std::int64_t> overdue(db::Connection& c, std::int64_t now, std::int64_t limit);
// The sweeper's claim on one overdue order, first thing in its transaction: true when the order is
// still overdue and now ours. On PostgreSQL it locks the row and skips it (false) when another
// transaction holds it (another node's sweeper, a payment being claimed), so nodes never queue
// behind each other; SQLite's single writer needs no lock.
bool claim_overdue(db::Connection& c, std::int64_t id, std::int64_t now);

// Every statement that writes an order's status, with the move it makes (`from` empty: a new order).
// The SQL spells the from-state as a literal (the partial index orders_pending_expiry needs one);
// tests/unit/order_status_test.cpp checks each against orders::kTransitions, which owns the rules.
struct StatusWrite {
  std::string_view statement;  // the function that runs it
  std::string_view sql;
  std::optional<OrderStatus> from;
  OrderStatus to;
};
std::span<const StatusWrite> status_writes();

}  // namespace orders::repo
