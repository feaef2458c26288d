#include "payments/refund_routes.hpp"

#include "common/error.hpp"
#include "common/text.hpp"
#include "http/fields.hpp"
#include "idempotency/store.hpp"
#include "orders/routes.hpp"
#include "orders/service.hpp"

#include <boost/json/array.hpp>

namespace payments {
namespace {

namespace json = boost::json;

// A refund the gateway did not make is an error answer carrying the refund, as make_payment answers a
// declined card (402) or a gateway it could not use (503).
http::Response refund_answer(json::object refund) {
  if (refund.at("status") != "failed") return http::json_response(201, refund);
  auto code = refund.at("failure_code").is_string() ? std::string(refund.at("failure_code").as_string()) : "";
  if (code == kGatewayUnavailable) {
    throw common::Error("payment_gateway_unavailable",
                        "The payment gateway could not make the refund; nothing was refunded, try again later",
                        {{"refund", std::move(refund)}});
  }
  throw common::Error("refund_failed", "The payment gateway refused the refund (" + code + ")",
                      {{"refund", std::move(refund)}});
}

}  // namespace

RefundRequest refund_request_from_json(const json::value& body, std::int64_t order_id, std::int64_t staff_id) {
  http::Fields f(body);
  RefundRequest request{order_id, {}, {}, staff_id, std::nullopt};
  if (const auto* v = f.raw("amount"); v == nullptr || v->is_null()) {
    f.error("amount", "This field is required.");
  } else {
    std::string message;
    if (auto amount = common::money_from_json(*v, message); !amount) f.error("amount", message);
    else if (amount->minor() <= 0) f.error("amount", "Ensure this value is greater than 0.");
    else request.amount = *amount;
  }
  if (auto reason = f.text("reason")) {
    if (reason->empty()) f.error("reason", "This field may not be blank.");
    else if (common::characters(*reason) > kMaxReasonLength) {
      f.error("reason", "Ensure this field has no more than " + std::to_string(kMaxReasonLength) + " characters.");
    }
    request.reason = std::move(*reason);
  }
  f.check();
  return request;
}

http::Response refund_order(Refunds& refunds, idempotency::Store& keys, http::Request& q) {
  if (q.idempotency_key_headers == 0) {
    throw common::Error("validation_error", "A refund needs an Idempotency-Key header",
                        {{"Idempotency-Key", json::array{"This header is required: a retry must not refund twice."}}});
  }
  auto request = refund_request_from_json(q.json, q.id_param(), q.user().user_id);
  return keys.run(q, [&](const idempotency::Store::Finish&) { return refund_answer(refunds.refund(request)); });
}

http::Response cancel_order(orders::Service& orders, Refunds& refunds, idempotency::Store& keys, http::Request& q) {
  return keys.run(q, [&](const idempotency::Store::Finish&) {
    auto cancelled = refunds.cancel_paid(q.id_param(), q.user().user_id);
    if (!cancelled) return orders::cancel_order(orders, q);
    auto body = orders::to_json(cancelled->order);
    body["refund"] = cancelled->refund ? json::value(std::move(*cancelled->refund)) : json::value(nullptr);
    return http::json_response(200, body);
  });
}

}  // namespace payments
