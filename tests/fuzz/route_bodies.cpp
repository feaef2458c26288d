// The JSON body of every route that takes one, through the router's own decoding (Content-Type
// check, common::parse_json, "must be an object") and then the route's decoder:
//   POST /register/, /login/, /token/refresh/ (and /logout/): auth::*_from_json
//   POST /store/products/: catalog::product_change_from_json; PUT and PATCH /store/products/{id}/:
//   catalog::product_update_from_json
//   POST /store/place_order/: orders::items_from_json
//   POST /store/make_payment/: payments::payment_request_from_json (with payments::parse_card)
//   POST /v1/charges (orderd mock-gateway): payments::read_charge
//   POST /v1/refunds (orderd mock-gateway): payments::read_refund
//   POST /admin/orders/{id}/refunds/: payments::refund_request_from_json
// Invariants: no input makes a 500 (an exception other than common::Error), every answer is JSON in
// the contract's shape, and what a decoder accepts is within the contract's limits.

#include "auth/routes.hpp"
#include "catalog/service.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "fuzz.hpp"
#include "http/router.hpp"
#include "orders/service.hpp"
#include "payments/mock_server.hpp"
#include "payments/refund_routes.hpp"
#include "payments/routes.hpp"

#include <boost/json/parse.hpp>

#include <spdlog/spdlog.h>

namespace {

using http::Body;
using http::Method;
using http::Request;
using http::Response;

bool digits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

void check_product(const catalog::ProductChange& change, bool partial) {
  if (!partial) FUZZ_CHECK(change.name && change.price && change.stock);
  if (change.name) FUZZ_CHECK(!change.name->empty() && change.name->front() != ' ' && change.name->back() != ' ');
  if (change.price) FUZZ_CHECK(change.price->minor() >= 0 && change.price->minor() <= common::Money::kMaxMinor);
  if (change.stock) FUZZ_CHECK(*change.stock >= 0 && *change.stock <= catalog::kMaxStock);
}

void check_product_update(const catalog::ProductUpdate& update, bool partial) {
  check_product(update.fields, partial);
  if (update.stock_adjustment) {
    FUZZ_CHECK(!update.fields.stock);
    FUZZ_CHECK(*update.stock_adjustment >= -catalog::kMaxStock && *update.stock_adjustment <= catalog::kMaxStock);
  }
  if (update.expected_stock) FUZZ_CHECK(*update.expected_stock >= 0 && *update.expected_stock <= catalog::kMaxStock);
}

const http::Router& router() {
  static const http::Router instance = [] {
    spdlog::set_level(spdlog::level::off);
    http::Router r;
    auto add = [&r](std::string path, std::function<void(Request&)> decode) {
      r.add({.method = Method::post, .path = std::move(path), .body = Body::json, .handler = [decode](Request& q) {
               decode(q);
               return http::no_content();
             }});
    };
    add("/register/", [](Request& q) {
      auto user = auth::new_user_from_json(q.json);
      (void)user;
    });
    add("/login/", [](Request& q) { (void)auth::credentials_from_json(q.json); });
    add("/token/refresh/", [](Request& q) { (void)auth::refresh_from_json(q.json); });
    add("/store/products/", [](Request& q) {
      for (bool partial : {false, true}) {
        common::FieldErrors errors;
        auto change = catalog::product_change_from_json(q.json.get_object(), partial, *common::Currency::find("USD"), errors);
        if (errors.empty()) check_product(change, partial);
        common::FieldErrors update_errors;
        auto update = catalog::product_update_from_json(q.json.get_object(), partial, *common::Currency::find("USD"), update_errors);
        if (update_errors.empty()) check_product_update(update, partial);
        errors.raise_if_any();
        update_errors.raise_if_any();
      }
    });
    add("/store/place_order/", [](Request& q) {
      auto items = orders::items_from_json(q.json.get_object());
      FUZZ_CHECK(!items.empty() && items.size() <= orders::kMaxLines);
      for (const auto& item : items) {
        FUZZ_CHECK(item.product_name.has_value() != item.product_id.has_value());
        if (item.product_id) FUZZ_CHECK(*item.product_id >= 1);
        if (item.product_name) FUZZ_CHECK(!item.product_name->empty());
        FUZZ_CHECK(item.quantity >= 1 && item.quantity <= orders::kMaxQuantity);
      }
    });
    add("/store/make_payment/", [](Request& q) {
      auto payment = payments::payment_request_from_json(q.json);
      FUZZ_CHECK(payment.order_id >= 1);
      FUZZ_CHECK(payment.amount.minor() >= 0 && payment.amount.minor() <= common::Money::kMaxMinor);
      FUZZ_CHECK(digits(payment.card.number) && payment.card.number.size() >= 12 && payment.card.number.size() <= 19);
      FUZZ_CHECK(payment.card.exp_month >= 1 && payment.card.exp_month <= 12);
      FUZZ_CHECK(payment.card.exp_year >= 2000 && payment.card.exp_year <= 2099);
      FUZZ_CHECK(digits(payment.card.cvc) && payment.card.cvc.size() >= 3 && payment.card.cvc.size() <= 4);
    });
    add("/v1/charges", [](Request& q) {
      auto charge = payments::read_charge(q);
      FUZZ_CHECK(charge.amount_minor > 0);
      FUZZ_CHECK(charge.currency.size() == 3);
      FUZZ_CHECK(charge.card.exp_month >= 1 && charge.card.exp_month <= 12);
    });
    add("/v1/refunds", [](Request& q) {
      auto refund = payments::read_refund(q);
      FUZZ_CHECK(refund.amount_minor > 0 && !refund.charge.empty() && refund.currency.size() == 3);
    });
    add("/admin/orders/1/refunds/", [](Request& q) {
      auto refund = payments::refund_request_from_json(q.json, 1, 1);
      FUZZ_CHECK(refund.amount.minor() > 0 && refund.amount.minor() <= common::Money::kMaxMinor);
      FUZZ_CHECK(!refund.reason.empty() && refund.reason.size() <= 4 * payments::kMaxReasonLength);
    });
    return r;
  }();
  return instance;
}

void check_response(const Response& response) {
  FUZZ_CHECK(response.status != 500);
  if (response.status == 204) return;
  FUZZ_CHECK(response.status == 400 || response.status == 415 || response.status == 422);
  // The contract's error body: {"code", "error", "details"}.
  auto body = boost::json::parse(response.body);
  FUZZ_CHECK(body.is_object() && body.as_object().contains("code") && body.as_object().contains("details"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& r = router();
  for (const auto& route : r.routes()) {
    Request q;
    q.method = route.method;
    q.path = route.path;
    q.request_id = "fuzz";
    q.content_type = "application/json";
    q.idempotency_key = "fuzz-key";
    q.body.assign(reinterpret_cast<const char*>(data), size);
    check_response(r.execute(route, q));
  }
  return 0;
}
