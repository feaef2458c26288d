#include "orders/status.hpp"

#include <stdexcept>
#include <string>

namespace orders {

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
  for (auto status : kOrderStatuses) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
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
