#pragma once
// An order's life: its statuses and the moves between them, written down once. Read this first to
// learn what can happen to an order; the repository's status-guarded statements follow the table
// (tests/unit/order_status_test.cpp checks each of them against it).
//
//   status            how it is reached                                  what else happens
//   ----------------  -------------------------------------------------  -----------------------------
//   pending_payment   placed (orders::Service::place)                    stock taken, reservation_ttl
//   paid              pending_payment -> paid: the payment settle        the confirmation email queued
//   cancelled         pending_payment -> cancelled: customer or staff    stock returned
//   expired           pending_payment -> expired: the sweeper, once the  stock returned
//                     reservation ran out
//
// paid, cancelled and expired are final. Every move out of pending_payment is one conditional UPDATE
// (`WHERE status = 'pending_payment' AND payment_in_flight = 0`), so two actors can never both make
// it (and return stock twice). Beside the status, `payment_in_flight` (orders/repo.hpp) holds a
// pending order while its charge is with the gateway: no cancel, no expiry until it settles.
// The axes to come (payment_status, fulfilment_status) belong beside this one, each with its table.

#include <array>
#include <optional>
#include <string_view>

namespace orders {

enum class OrderStatus { pending_payment, paid, cancelled, expired };

inline constexpr std::array kOrderStatuses = {OrderStatus::pending_payment, OrderStatus::paid, OrderStatus::cancelled,
                                              OrderStatus::expired};
// What a new order is.
inline constexpr OrderStatus kInitialStatus = OrderStatus::pending_payment;

struct Transition {
  OrderStatus from;
  OrderStatus to;
};
// Every allowed move; anything not listed never happens.
inline constexpr std::array kTransitions = {
    Transition{OrderStatus::pending_payment, OrderStatus::paid},
    Transition{OrderStatus::pending_payment, OrderStatus::cancelled},
    Transition{OrderStatus::pending_payment, OrderStatus::expired},
};

constexpr bool can_move(OrderStatus from, OrderStatus to) {
  for (const auto& t : kTransitions) {
    if (t.from == from && t.to == to) return true;
  }
  return false;
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

}  // namespace orders
