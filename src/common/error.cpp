#include "common/error.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <utility>

namespace common {

Error::Error(std::string code, std::string message, boost::json::object details)
    : std::runtime_error(std::move(message)), code_(std::move(code)), details_(std::move(details)) {}

namespace {

struct CodeStatus {
  std::string_view code;
  int status;
};

// The contract's table of error codes, plus the protocol-level codes the HTTP layer uses.
constexpr std::array kStatuses{
    CodeStatus{"bad_request", 400},
    CodeStatus{"malformed_json", 400},
    CodeStatus{"validation_error", 400},
    CodeStatus{"empty_items", 400},
    CodeStatus{"unknown_product", 400},
    CodeStatus{"insufficient_stock", 400},
    CodeStatus{"amount_mismatch", 400},
    CodeStatus{"invalid_token", 400},
    CodeStatus{"not_authenticated", 401},
    CodeStatus{"token_invalid", 401},
    CodeStatus{"token_expired", 401},
    CodeStatus{"invalid_credentials", 401},
    CodeStatus{"card_declined", 402},
    CodeStatus{"incorrect_number", 402},
    CodeStatus{"insufficient_funds", 402},
    CodeStatus{"expired_card", 402},
    CodeStatus{"incorrect_cvc", 402},
    CodeStatus{"refund_failed", 402},
    CodeStatus{"forbidden", 403},
    CodeStatus{"email_not_verified", 403},
    CodeStatus{"not_found", 404},
    CodeStatus{"method_not_allowed", 405},
    CodeStatus{"order_already_paid", 409},
    CodeStatus{"order_not_payable", 409},
    CodeStatus{"email_taken", 409},
    CodeStatus{"username_taken", 409},
    CodeStatus{"idempotency_conflict", 409},
    CodeStatus{"cannot_change_own_account", 409},
    CodeStatus{"email_not_renderable", 409},
    CodeStatus{"stock_changed", 409},
    CodeStatus{"product_changed", 409},
    CodeStatus{"email_already_verified", 409},
    CodeStatus{"account_inactive", 409},
    CodeStatus{"password_changed", 409},
    // After payment (orders/shipping.hpp, payments/refunds.hpp).
    CodeStatus{"order_not_paid", 409},
    CodeStatus{"fulfilment_exceeds_order", 409},
    CodeStatus{"return_exceeds_shipped", 409},
    CodeStatus{"refund_exceeds_payment", 409},
    CodeStatus{"order_has_shipments", 409},
    CodeStatus{"endpoint_disabled", 409},
    CodeStatus{"payload_too_large", 413},
    CodeStatus{"unsupported_media_type", 415},
    CodeStatus{"headers_too_large", 431},
    CodeStatus{"too_many_requests", 429},
    CodeStatus{"internal_error", 500},
    CodeStatus{"payment_gateway_unavailable", 503},
    CodeStatus{"unavailable", 503},
    CodeStatus{"too_busy", 503},
};

}  // namespace

int status_for(std::string_view code) noexcept {
  for (const auto& entry : kStatuses) {
    if (entry.code == code) return entry.status;
  }
  return 500;
}

void FieldErrors::add(std::string_view field, std::string_view message) {
  auto* list = fields_.if_contains(field);
  if (list == nullptr) list = &(fields_[field] = boost::json::array{});
  list->as_array().emplace_back(message);
}

void FieldErrors::raise_if_any() const {
  if (fields_.empty()) return;
  std::string message = "Invalid input";
  const auto& first = *fields_.begin();
  message += ": " + std::string(first.key()) + ": " + std::string(first.value().as_array().front().as_string());
  throw Error("validation_error", std::move(message), fields_);
}

}  // namespace common
