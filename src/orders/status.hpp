#pragma once
// An order's life: its statuses and the moves between them, written down once. Read this first to
// learn what can happen to an order; the repository's status-guarded statements follow the tables
// (tests/unit/order_status_test.cpp checks each of them against them).
//
// An order has three axes. `status` is the old API's (its clients read it, with `paid`); the other
// two say where the money and the goods are.
//
//   status            how it is reached                                  what else happens
//   ----------------  -------------------------------------------------  -----------------------------
//   pending_payment   placed (orders::Service::place)                    stock taken, reservation_ttl
//   paid              pending_payment -> paid: the payment settle        the confirmation email queued
//   cancelled         pending_payment -> cancelled: customer or staff    stock returned
//   expired           pending_payment -> expired: the sweeper, once the  stock returned
//                     reservation ran out
//   cancelled         paid -> cancelled: staff, while nothing is shipped  stock returned, what remains
//                     (payments::Refunds::cancel_paid)                   of the payment refunded
//
// Every move out of pending_payment is one conditional UPDATE (`WHERE status = 'pending_payment' AND
// payment_in_flight = 0`), so two actors can never both make it (and return stock twice). Beside the
// status, `payment_in_flight` (orders/repo.hpp) holds a pending order while its charge is with the
// gateway: no cancel, no expiry until it settles.
//
//   payment_status      meaning
//   ------------------  ------------------------------------------------------------------------
//   awaiting            placed, not paid yet
//   paid                charged, nothing refunded
//   partially_refunded  refunds have succeeded for part of what was paid
//   refunded            refunds have succeeded for all of it
//   none                cancelled or expired before it was paid: there never was money
//
//   fulfilment_status   meaning (of the order's units: shipped S, delivered D, returned R, ordered Q)
//   ------------------  ------------------------------------------------------------------------
//   not_fulfilled       S = 0
//   partially_fulfilled 0 < S < Q, nothing delivered or returned
//   fulfilled           S = Q, nothing delivered or returned
//   partially_delivered 0 < D < Q, nothing returned
//   delivered           D = Q, nothing returned
//   partially_returned  0 < R < Q
//   returned            R = Q
// fulfilment_status() computes it from the counts; a write moves it only along kFulfilmentMoves.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace orders {

enum class OrderStatus { pending_payment, paid, cancelled, expired };

inline constexpr std::array kOrderStatuses = {OrderStatus::pending_payment, OrderStatus::paid, OrderStatus::cancelled,
                                              OrderStatus::expired};
// What a new order is.
inline constexpr OrderStatus kInitialStatus = OrderStatus::pending_payment;

// A move of one axis of the order's state (status, payment_status, fulfilment_status) from one value
// to another. Each axis lists its allowed moves in one table; anything not listed never happens.
template <class State>
struct Move {
  State from;
  State to;
};
using Transition = Move<OrderStatus>;

// Whether `moves` allows `from` -> `to`.
template <class State, std::size_t N>
constexpr bool allows(const std::array<Move<State>, N>& moves, State from, State to) {
  for (const auto& m : moves) {
    if (m.from == from && m.to == to) return true;
  }
  return false;
}

// Every allowed move of `status`.
inline constexpr std::array kTransitions = {
    Transition{OrderStatus::pending_payment, OrderStatus::paid},
    Transition{OrderStatus::pending_payment, OrderStatus::cancelled},
    Transition{OrderStatus::pending_payment, OrderStatus::expired},
    Transition{OrderStatus::paid, OrderStatus::cancelled},  // staff, nothing shipped: refunded
};

constexpr bool can_move(OrderStatus from, OrderStatus to) { return allows(kTransitions, from, to); }

enum class PaymentStatus { awaiting, paid, partially_refunded, refunded, none };
inline constexpr std::array kPaymentStatuses = {PaymentStatus::awaiting, PaymentStatus::paid,
                                                PaymentStatus::partially_refunded, PaymentStatus::refunded,
                                                PaymentStatus::none};
inline constexpr std::array kPaymentMoves = {
    Move<PaymentStatus>{PaymentStatus::awaiting, PaymentStatus::paid},  // the payment settles
    Move<PaymentStatus>{PaymentStatus::awaiting, PaymentStatus::none},  // cancelled or expired unpaid
    Move<PaymentStatus>{PaymentStatus::paid, PaymentStatus::partially_refunded},  // a refund succeeds
    Move<PaymentStatus>{PaymentStatus::paid, PaymentStatus::refunded},
    Move<PaymentStatus>{PaymentStatus::partially_refunded, PaymentStatus::refunded},
};

enum class FulfilmentStatus {
  not_fulfilled,
  partially_fulfilled,
  fulfilled,
  partially_delivered,
  delivered,
  partially_returned,
  returned
};
inline constexpr std::array kFulfilmentStatuses = {
    FulfilmentStatus::not_fulfilled,       FulfilmentStatus::partially_fulfilled, FulfilmentStatus::fulfilled,
    FulfilmentStatus::partially_delivered, FulfilmentStatus::delivered,          FulfilmentStatus::partially_returned,
    FulfilmentStatus::returned};
// Shipping, delivering and returning only add units, so the status only moves forward.
inline constexpr std::array kFulfilmentMoves = {
    Move<FulfilmentStatus>{FulfilmentStatus::not_fulfilled, FulfilmentStatus::partially_fulfilled},
    Move<FulfilmentStatus>{FulfilmentStatus::not_fulfilled, FulfilmentStatus::fulfilled},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_fulfilled, FulfilmentStatus::fulfilled},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_fulfilled, FulfilmentStatus::partially_delivered},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_fulfilled, FulfilmentStatus::partially_returned},
    Move<FulfilmentStatus>{FulfilmentStatus::fulfilled, FulfilmentStatus::partially_delivered},
    Move<FulfilmentStatus>{FulfilmentStatus::fulfilled, FulfilmentStatus::delivered},
    Move<FulfilmentStatus>{FulfilmentStatus::fulfilled, FulfilmentStatus::partially_returned},
    Move<FulfilmentStatus>{FulfilmentStatus::fulfilled, FulfilmentStatus::returned},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_delivered, FulfilmentStatus::delivered},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_delivered, FulfilmentStatus::partially_returned},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_delivered, FulfilmentStatus::returned},
    Move<FulfilmentStatus>{FulfilmentStatus::delivered, FulfilmentStatus::partially_returned},
    Move<FulfilmentStatus>{FulfilmentStatus::delivered, FulfilmentStatus::returned},
    Move<FulfilmentStatus>{FulfilmentStatus::partially_returned, FulfilmentStatus::returned},
};

constexpr bool can_move(PaymentStatus from, PaymentStatus to) { return allows(kPaymentMoves, from, to); }
constexpr bool can_move(FulfilmentStatus from, FulfilmentStatus to) { return allows(kFulfilmentMoves, from, to); }

// The fulfilment status of units counted over the whole order (see the table above).
constexpr FulfilmentStatus fulfilment_status(std::int64_t ordered, std::int64_t shipped_units,
                                             std::int64_t delivered_units, std::int64_t returned_units) {
  using enum FulfilmentStatus;
  if (returned_units > 0) return returned_units >= ordered ? returned : partially_returned;
  if (delivered_units > 0) return delivered_units >= ordered ? delivered : partially_delivered;
  if (shipped_units > 0) return shipped_units >= ordered ? fulfilled : partially_fulfilled;
  return not_fulfilled;
}

// No move leaves it.
constexpr bool is_final(OrderStatus status) {
  for (const auto& t : kTransitions) {
    if (t.from == status) return false;
  }
  return true;
}

// The name the API, the database and the console use ("pending_payment", ...).
std::string_view to_string(OrderStatus status);
std::optional<OrderStatus> order_status_from_string(std::string_view text);
// "pending_payment, paid, cancelled, expired": for messages listing the choices.
std::string_view order_status_choices();

std::string_view to_string(PaymentStatus status);
std::optional<PaymentStatus> payment_status_from_string(std::string_view text);
std::string_view to_string(FulfilmentStatus status);
std::optional<FulfilmentStatus> fulfilment_status_from_string(std::string_view text);

}  // namespace orders
