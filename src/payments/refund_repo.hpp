#pragma once
// The refunds table, and the order's refund columns (refund_held, refunded_amount, payment_status's
// refund moves: migration 009). Plain SQL, no rules: payments::Refunds decides. The order columns are
// written here rather than in orders/ because they are the refund's own bookkeeping, each statement
// guarded so that no number of refunds on any number of nodes adds up to more than was paid;
// payment_writes() lists the payment_status moves for tests/unit/refunds_test.cpp, which holds them
// to orders::kPaymentMoves as orders' own list is held.

#include "db/database.hpp"
#include "orders/status.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace payments::refund_repo {

// The order's succeeded charge: what a refund gives back from.
struct PaidCharge {
  std::int64_t payment_id = 0;
  std::string reference;  // the gateway's charge id
};
std::optional<PaidCharge> paid_charge(db::Connection& c, std::int64_t order_id);

// The order's money as refunds see it.
struct Position {
  std::int64_t total = 0;     // what the payment took
  std::int64_t held = 0;      // succeeded and processing refunds
  std::int64_t refunded = 0;  // succeeded refunds
  std::string payment_status;
};
// Locks the order row on PostgreSQL (SQLite's one writer already excludes other writes), so a settle
// decides its payment_status move on figures no one changes meanwhile. Empty when there is no order.
std::optional<Position> lock_position(db::Connection& c, std::int64_t order_id);

// Adds `amount` to what refunds hold of a paid order, only while the sum stays within its total:
// false when it would not (or the order was never paid). The one statement that makes concurrent
// refunds safe.
bool hold(db::Connection& c, std::int64_t order_id, std::int64_t amount);
// Gives a failed refund's amount back (the hold it took). None of these three touches orders.updated_at,
// which the dashboard reads as the moment a paid order was paid.
bool release(db::Connection& c, std::int64_t order_id, std::int64_t amount);
// A succeeded refund: adds to refunded_amount with the payment_status move from `from` to `to`
// (both from payment_writes(); to == from for a further partial refund). False when the order was no
// longer in `from` or the amount does not fit what is held.
bool record_refunded(db::Connection& c, std::int64_t order_id, std::int64_t amount, orders::PaymentStatus from,
                     orders::PaymentStatus to);

struct NewRefund {
  std::int64_t order_id = 0;
  std::int64_t payment_id = 0;
  std::optional<std::int64_t> return_id;
  std::int64_t amount = 0;
  std::string reason;
  std::string idempotency_key;
  std::optional<std::int64_t> created_by;
};
std::int64_t insert_processing(db::Connection& c, const NewRefund& r, std::int64_t now);

struct RefundRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  std::int64_t payment_id = 0;
  std::optional<std::int64_t> return_id;
  std::int64_t amount = 0;
  std::string reason;
  std::string status;
  std::string idempotency_key;
  std::optional<std::string> gateway_reference;
  std::optional<std::string> failure_code;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};
std::optional<RefundRow> find(db::Connection& c, std::int64_t id);
std::vector<RefundRow> for_order(db::Connection& c, std::int64_t order_id);
// The charge a refund gives back from.
std::string charge_reference(db::Connection& c, std::int64_t payment_id);

// Moves a processing refund to succeeded or failed; false when it was no longer processing.
bool settle(db::Connection& c, std::int64_t id, std::string_view status, const std::string& reference,
            const std::string& failure_code, std::int64_t now);
// The reconciler's claim, as payments::repo::claim_stale_processing: processing refunds last touched
// before `before`, touched again (a lease), FOR UPDATE SKIP LOCKED on PostgreSQL.
std::vector<RefundRow> claim_stale_processing(db::Connection& c, std::int64_t before, std::int64_t now,
                                              std::int64_t limit);

// Every statement here that writes payment_status, with its move.
struct PaymentWrite {
  std::string_view statement;
  std::string_view sql;
  orders::PaymentStatus from;
  orders::PaymentStatus to;  // == from: a further partial refund, no move
};
std::span<const PaymentWrite> payment_writes();

}  // namespace payments::refund_repo
