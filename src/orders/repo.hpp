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
  std::int64_t id = 0;  // the line's own id (fulfilments and returns name lines by it)
  std::int64_t shipped = 0;
  std::int64_t delivered = 0;
  std::int64_t returned = 0;
};

// What happened after payment, as the order bodies show it (one order's, or a page's in one query each).
struct FulfilmentItemRow {
  std::int64_t product_id = 0;
  std::string product;
  std::int64_t quantity = 0;
};
struct FulfilmentRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  std::string carrier;
  std::string tracking_number;
  std::string tracking_url;
  std::int64_t shipped_at = 0;
  std::optional<std::int64_t> delivered_at;
  std::vector<FulfilmentItemRow> items;  // one per product (lines of one product added together)
};
struct RefundRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  std::int64_t amount = 0;
  std::string reason;
  std::string status;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> return_id;
  std::optional<std::string> failure_code;
  std::int64_t updated_at = 0;
};
struct ReturnItemRow {
  std::int64_t product_id = 0;
  std::string product;
  std::int64_t quantity = 0;
  std::int64_t restocked = 0;
};
struct ReturnRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  std::string reason;
  std::int64_t created_at = 0;
  std::vector<ReturnItemRow> items;  // one per product, like FulfilmentRow's
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
  std::vector<ItemRow> items = {};
  std::string payment_status;
  std::string fulfilment_status;
  std::vector<FulfilmentRow> fulfilments = {};
  std::vector<RefundRow> refunds = {};  // the refunds table is payments'; orders only reads it for the body
  std::vector<ReturnRow> returns = {};
};

std::int64_t insert_order(db::Connection& c, std::int64_t user_id, std::int64_t total, std::int64_t now,
                          std::int64_t expires_at);
void insert_item(db::Connection& c, std::int64_t order_id, const ItemRow& item);

// One order with its items, fulfilments, refunds and returns.
std::optional<OrderRow> find(db::Connection& c, std::int64_t id);

struct Customer {
  std::string username;
  std::string email;
};
Customer customer(db::Connection& c, std::int64_t user_id);

// PostgreSQL only: the whole placement in one statement (migration 014's orderd_place_order): the
// guarded stock update of each line in the given order, the order and its lines, the customer. One
// row per line, in the given order; none when a line could not be taken, and then nothing was.
struct PlacedLine {
  std::int64_t order_id = 0;
  std::string customer;
  std::string email;
  std::int64_t product_id = 0;
  std::string product;
  std::int64_t price = 0;
  std::int64_t stock = 0;  // after the sale
};
std::vector<PlacedLine> place_at_once(db::Connection& c, std::int64_t user_id, const std::vector<std::int64_t>& products,
                                      const std::vector<std::int64_t>& quantities, std::int64_t now,
                                      std::int64_t expires_at);
// Orders newest first with their items, fulfilments, refunds and returns: one user's (all statuses), or everyone's with `status`, or
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
// begin_payment's statement: $1 the order, $2 now. It ends with its conditions, so payments' claim in
// one statement (payments/repo.cpp) adds the owner's and the amount's to the very same ones.
inline constexpr auto kBeginPayment = db::concat(
    "UPDATE orders SET payment_in_flight = 1, updated_at = $2"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_in_flight = 0 AND expires_at > $2");
// Ends the charge: `paid` moves the order to paid, otherwise it is payable (or expirable) again.
// Returns the order as it now is, with its items only (a settling order has no fulfilments, refunds
// or returns: they all need it paid first), or nothing when the order was not in flight.
std::optional<OrderRow> end_payment(db::Connection& c, std::int64_t id, bool paid, std::int64_t now);
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

// The same for the other two axes: every statement that writes payment_status or fulfilment_status,
// with its move (`from`/`to` empty: the statement takes them as parameters, and the function that
// runs it refuses a move the table does not allow). Writes of other modules (payments' refunds)
// keep lists of their own.
template <class State>
struct AxisWrite {
  std::string_view statement;
  std::string_view sql;
  std::optional<State> from;
  std::optional<State> to;
};
using PaymentWrite = AxisWrite<PaymentStatus>;
using FulfilmentWrite = AxisWrite<FulfilmentStatus>;
std::span<const PaymentWrite> payment_writes();
std::span<const FulfilmentWrite> fulfilment_writes();  // orders/shipping_repo.cpp

}  // namespace orders::repo
