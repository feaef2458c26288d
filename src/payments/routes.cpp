#include "payments/routes.hpp"

#include "common/clock.hpp"
#include "http/fields.hpp"
#include "http/router.hpp"
#include "idempotency/store.hpp"
#include "payments/service.hpp"

#include <boost/json/serialize.hpp>

#include <string>
#include <type_traits>

namespace payments {
namespace {

using http::Access;
using http::Request;

// Old clients may send the card number or CVC as a JSON number; DRF's CharField took those too.
std::optional<std::string> digits_field(http::Fields& f, std::string_view name) {
  const auto* v = f.raw(name);
  if (v && v->is_int64() && v->get_int64() >= 0) return std::to_string(v->get_int64());
  return f.text(name);
}

}  // namespace

PaymentRequest payment_request_from_json(const boost::json::value& body) {
  http::Fields f(body);
  PaymentRequest request;
  auto order_id = f.drf_integer("order_id");  // an old route's field
  std::optional<common::Money> amount;
  if (const auto* v = f.raw("amount"); v == nullptr || v->is_null()) {
    f.error("amount", "This field is required.");
  } else {
    std::string message;
    amount = common::money_from_json(*v, message);
    if (!amount) f.error("amount", message);
  }
  auto number = digits_field(f, "card_number");
  auto expiry = f.text("expiry_date");
  auto cvv = digits_field(f, "cvv");
  std::optional<Card> card;
  if (number && expiry && cvv) card = parse_card(*number, *expiry, *cvv, f.errors());  // never echoes the number
  if (order_id && *order_id < 1) f.error("order_id", "A valid order id is required.");
  f.check();
  request.order_id = *order_id;
  request.amount = *amount;
  request.card = std::move(*card);
  return request;
}

namespace {

// The old service's success body. Its order_data carried money as JSON numbers with two decimals
// (130.00), which Boost.JSON cannot write from an exact value, so those few literals are written
// from the integer minor units as text; strings still go through the JSON serializer.
std::string json_text(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

// One order line, its fields as orders::for_each_item_field names them, money as a number.
std::string item_text(const orders::Item& item) {
  std::string out;
  orders::for_each_item_field(item, [&](std::string_view name, const auto& value) {
    using Value = std::decay_t<decltype(value)>;
    out += out.empty() ? '{' : ',';  // appended piece by piece: GCC 12 warns of "{" + string (-Wrestrict)
    out += json_text(name);
    out += ':';
    if constexpr (std::is_same_v<Value, common::Money>) out += value.to_string();
    else if constexpr (std::is_same_v<Value, std::string>) out += json_text(value);
    else out += std::to_string(value);
  });
  return out + "}";
}

std::string success_body(const orders::Order& o) {
  std::string body = R"({"message":"Payment successful","order_data":{"order_id":)" + std::to_string(o.id) +
                     R"(,"total_amount":)" + o.total_amount.to_string() + R"(,"created_at":)" +
                     json_text(common::format_rfc3339(o.created_at)) + R"(,"items":[)";
  for (std::size_t i = 0; i < o.items.size(); ++i) {
    if (i > 0) body += ',';
    body += item_text(o.items[i]);
  }
  return body + "]}}";
}

http::Response success(const orders::Order& o) {
  http::Response r;
  r.body = success_body(o);
  return r;
}

// What makes two payment requests under one Idempotency-Key "the same": only what may be stored of
// them, since the idempotency store keeps a hash of it for a day. A hash over the card number is
// brute-forced in minutes when its brand and last four sit beside it, and PCI DSS forbids keeping the
// CVC in any form, so the number, expiry and CVC stay out: a retry with the same card and another
// expiry or CVC replays the first answer; another card (brand or last four) is a conflict.
std::string idempotency_identity(const PaymentRequest& request) {
  return "order " + std::to_string(request.order_id) + "\namount " + std::to_string(request.amount.minor()) +
         "\ncard " + card_brand(request.card.number) + " " + last4(request.card.number);
}

// With an Idempotency-Key a retry of the same payment replays the first answer (idempotency::Store).
http::Response make_payment(Service& service, idempotency::Store& keys, Request& q) {
  auto request = payment_request_from_json(q.json);
  return keys.run(q, idempotency_identity(request), [&](const idempotency::Store::Finish& finish) {
    orders::BeforeCommit remember;
    if (finish) remember = [&](db::Connection& c, const orders::Order& o) { finish(c, success(o)); };
    return success(service.pay(q.user().user_id, request, remember));
  });
}

}  // namespace

void register_routes(http::Router& router, Service& service, idempotency::Store& keys) {
  router.add(http::post("/store/make_payment/", Access::user, http::handle(make_payment, service, keys)).json_or_form());
}

}  // namespace payments
