#include "orders/status.hpp"

#include <stdexcept>
#include <string>

namespace orders {
namespace {

// The state of `all` whose name is `text`.
template <class State, std::size_t N>
std::optional<State> named(const std::array<State, N>& all, std::string_view text) {
  for (auto state : all) {
    if (to_string(state) == text) return state;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(OrderStatus status) {
  switch (status) {
    case OrderStatus::pending_payment: return "pending_payment";
    case OrderStatus::paid: return "paid";
    case OrderStatus::cancelled: return "cancelled";
    case OrderStatus::expired: return "expired";
  }
  throw std::logic_error("unknown order status");
}

std::optional<OrderStatus> order_status_from_string(std::string_view text) {
  return named(kOrderStatuses, text);
}

std::string_view to_string(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::awaiting: return "awaiting";
    case PaymentStatus::paid: return "paid";
    case PaymentStatus::partially_refunded: return "partially_refunded";
    case PaymentStatus::refunded: return "refunded";
    case PaymentStatus::none: return "none";
  }
  throw std::logic_error("unknown payment status");
}

std::optional<PaymentStatus> payment_status_from_string(std::string_view text) {
  return named(kPaymentStatuses, text);
}

std::string_view to_string(FulfilmentStatus status) {
  switch (status) {
    case FulfilmentStatus::not_fulfilled: return "not_fulfilled";
    case FulfilmentStatus::partially_fulfilled: return "partially_fulfilled";
    case FulfilmentStatus::fulfilled: return "fulfilled";
    case FulfilmentStatus::partially_delivered: return "partially_delivered";
    case FulfilmentStatus::delivered: return "delivered";
    case FulfilmentStatus::partially_returned: return "partially_returned";
    case FulfilmentStatus::returned: return "returned";
  }
  throw std::logic_error("unknown fulfilment status");
}

std::optional<FulfilmentStatus> fulfilment_status_from_string(std::string_view text) {
  return named(kFulfilmentStatuses, text);
}

std::string_view order_status_choices() {
  static const std::string choices = [] {
    std::string out;
    for (auto status : kOrderStatuses) out += (out.empty() ? "" : ", ") + std::string(to_string(status));
    return out;
  }();
  return choices;
}

}  // namespace orders
