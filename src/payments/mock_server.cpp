#include "payments/mock_server.hpp"

#include "common/error.hpp"
#include "http/fields.hpp"
#include "payments/mock_rules.hpp"

#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <stdexcept>

namespace payments {
namespace {

namespace json = boost::json;

bool digits_between(std::string_view text, std::size_t low, std::size_t high) {
  return text.size() >= low && text.size() <= high && text.find_first_not_of("0123456789") == std::string_view::npos;
}

bool valid_currency(std::string_view code) {
  return code.size() == 3 && code.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string_view::npos;
}

void require_key(const http::Request& request) {
  if (!valid_idempotency_key(request.idempotency_key)) {
    throw common::Error("validation_error", "The Idempotency-Key header must be 1-255 printable characters",
                        {{"Idempotency-Key", json::array{"Required: 1-255 printable characters."}}});
  }
}

}  // namespace

GatewayRefundRequest read_refund(const http::Request& request) {
  require_key(request);
  GatewayRefundRequest refund;
  refund.idempotency_key = request.idempotency_key;
  http::Fields fields(request.json);
  if (auto charge = fields.text("charge")) {
    if (charge->empty() || charge->size() > 255) fields.error("charge", "Give the charge's id (1-255 characters).");
    refund.charge = std::move(*charge);
  }
  if (auto amount = fields.integer("amount")) {
    if (*amount <= 0) fields.error("amount", "Ensure this value is a positive number of minor units.");
    refund.amount_minor = *amount;
  }
  if (auto currency = fields.text("currency", false)) {
    if (!valid_currency(*currency)) fields.error("currency", "Enter a three-letter lowercase ISO 4217 code.");
    refund.currency = *currency;
  }
  fields.check();
  return refund;
}

ChargeRequest read_charge(const http::Request& request) {
  require_key(request);
  ChargeRequest charge;
  charge.idempotency_key = request.idempotency_key;

  http::Fields fields(request.json);
  if (auto amount = fields.integer("amount")) {
    if (*amount <= 0) fields.error("amount", "Ensure this value is a positive number of minor units.");
    charge.amount_minor = *amount;
  }
  if (auto currency = fields.text("currency")) {
    if (!valid_currency(*currency)) fields.error("currency", "Enter a three-letter lowercase ISO 4217 code.");
    charge.currency = *currency;
  }
  charge.description = fields.text("description", false).value_or("");

  const auto* card = fields.raw("card");
  if (card == nullptr || !card->is_object()) {
    fields.error("card", "An object {number, exp_month, exp_year, cvc} is required.");
  } else {
    // Messages name the problem, never the value: this is card data.
    http::Fields card_fields(*card);
    if (auto number = card_fields.text("number")) {
      if (!digits_between(*number, 12, 19)) card_fields.error("number", "Enter 12 to 19 digits.");
      charge.card.number = std::move(*number);
    }
    if (auto month = card_fields.integer("exp_month")) {
      if (*month < 1 || *month > 12) card_fields.error("exp_month", "Enter a month from 1 to 12.");
      charge.card.exp_month = static_cast<int>(std::clamp<std::int64_t>(*month, 0, 13));
    }
    if (auto year = card_fields.integer("exp_year")) {
      if (*year < 1000 || *year > 9999) card_fields.error("exp_year", "Enter a four-digit year.");
      charge.card.exp_year = static_cast<int>(std::clamp<std::int64_t>(*year, 0, 9999));
    }
    if (auto cvc = card_fields.text("cvc")) {
      if (!digits_between(*cvc, 3, 4)) card_fields.error("cvc", "Enter 3 or 4 digits.");
      charge.card.cvc = std::move(*cvc);
    }
    try {
      card_fields.check();
    } catch (const common::Error& e) {
      for (const auto& [name, messages] : e.details()) {
        for (const auto& message : messages.as_array()) fields.error("card." + std::string(name), message.as_string());
      }
    }
  }
  fields.check();
  return charge;
}

namespace {

http::Response charge_response(const ChargeResult& result, std::int64_t amount, std::string_view currency,
                               std::string_view brand, std::string_view last_digits) {
  if (result.outcome == Outcome::approved) {
    return http::json_response(200, {{"id", result.reference},
                                     {"status", "succeeded"},
                                     {"amount", amount},
                                     {"currency", currency},
                                     {"card", {{"brand", brand}, {"last4", last_digits}}}});
  }
  return http::json_response(402, {{"id", result.reference},
                                   {"status", "failed"},
                                   {"decline_code", result.decline_code},
                                   {"message", result.message}});
}

// What a proxy between a client and the gateway answers when the gateway's answer was lost: a 5xx
// whose body says nothing about the charge (--fail-after-charge).
http::Response after_charge_failure(int status) {
  http::Response failure;
  failure.status = status;
  failure.content_type = "text/html; charset=utf-8";
  failure.body = "<html><body><h1>" + std::to_string(status) + "</h1><p>No answer from upstream.</p></body></html>\n";
  return failure;
}

// The faults that act before the gateway decides anything: nothing is charged or refunded.
std::optional<http::Response> fault_before(const MockFaults& faults, std::string_view what) {
  if (faults.hang) {
    http::Response silent;
    silent.delivery = http::Delivery::silence;
    return silent;
  }
  if (faults.fail_status != 0) {
    return http::json_response(faults.fail_status,
                               {{"status", "failed"},
                                {"decline_code", "processing_error"},
                                {"message", "Injected failure (--fail-status): nothing was " + std::string(what)}});
  }
  return std::nullopt;
}

// The faults that act after the gateway decided and remembered: the client cannot know the outcome.
http::Response fault_after(const MockFaults& faults, http::Response response) {
  if (faults.reset_after_charge) response.delivery = http::Delivery::reset;
  if (faults.fail_after_charge != 0) return after_charge_failure(faults.fail_after_charge);
  return response;
}

// The protocol's answers for "nothing happened": a conflict, a processing error, a refused request.
[[noreturn]] void not_done(const std::string& code, const std::string& message) {
  if (code == "idempotency_conflict") throw common::Error("idempotency_conflict", message);
  throw common::Error("bad_request", message);
}

http::Response create_charge(MockGateway& gateway, const MockFaults& faults, http::Request& request) {
  auto charge = read_charge(request);
  if (auto fault = fault_before(faults, "charged")) return *fault;
  auto result = gateway.charge(charge);
  switch (result.outcome) {
    case Outcome::approved:
    case Outcome::declined:
      return fault_after(faults, charge_response(result, charge.amount_minor, charge.currency,
                                                 card_brand(charge.card.number), last4(charge.card.number)));
    case Outcome::error:
      if (result.decline_code == "processing_error") {
        return http::json_response(503, {{"status", "failed"},
                                         {"decline_code", result.decline_code},
                                         {"message", result.message}});
      }
      not_done(result.decline_code, result.message);
    case Outcome::unknown: break;  // the in-process mock always knows
  }
  throw std::logic_error("the mock gateway returned an unknown outcome");
}

http::Response refund_response(const RefundResult& result, const std::string& charge, std::int64_t amount,
                               std::string_view currency) {
  if (result.outcome == RefundOutcome::succeeded) {
    return http::json_response(200, {{"id", result.reference},
                                     {"status", "succeeded"},
                                     {"charge", charge},
                                     {"amount", amount},
                                     {"currency", currency}});
  }
  return http::json_response(402, {{"id", result.reference},
                                   {"status", "failed"},
                                   {"charge", charge},
                                   {"failure_code", result.failure_code},
                                   {"message", result.message}});
}

http::Response create_refund(MockGateway& gateway, const MockFaults& faults, http::Request& request) {
  auto refund = read_refund(request);
  if (auto fault = fault_before(faults, "refunded")) return *fault;
  auto result = gateway.refund(refund);
  switch (result.outcome) {
    case RefundOutcome::succeeded:
    case RefundOutcome::refused:
      return fault_after(faults, refund_response(result, refund.charge, refund.amount_minor, refund.currency));
    case RefundOutcome::error: not_done(result.failure_code, result.message);
    case RefundOutcome::unknown: break;  // the in-process mock always knows
  }
  throw std::logic_error("the mock gateway returned an unknown refund outcome");
}

// The key of GET /v1/.../{idempotency_key}: the router matches the encoded path, so it arrives
// percent-encoded.
std::optional<std::string> path_key(http::Request& request) {
  auto encoded = boost::urls::make_pct_string_view(request.path_param("idempotency_key"));
  if (!encoded) return std::nullopt;
  return encoded->decode();
}

http::Response find_refund(MockGateway& gateway, http::Request& request) {
  std::optional<StoredRefund> stored;
  if (auto key = path_key(request)) stored = gateway.find_refund(*key);
  if (!stored) {
    return http::json_response(404, {{"code", "refund_not_found"},
                                     {"error", "No refund was made with this idempotency key"},
                                     {"details", json::object{}}});
  }
  return refund_response(stored->result, stored->charge, stored->amount_minor, stored->currency);
}

http::Response find_charge(MockGateway& gateway, http::Request& request) {
  std::optional<StoredCharge> stored;
  if (auto key = path_key(request)) stored = gateway.find(*key);
  if (!stored) {
    return http::json_response(404, {{"code", "charge_not_found"},
                                     {"error", "No charge was made with this idempotency key"},
                                     {"details", json::object{}}});
  }
  return charge_response(stored->result, stored->amount_minor, stored->currency, stored->brand, stored->last4);
}

}  // namespace

void register_mock_gateway_routes(http::Router& router, MockGateway& gateway, MockFaults faults,
                                  MockFaults refund_faults) {
  using http::Access;
  using http::handle;
  router.add(http::post("/v1/charges", Access::anyone, handle(create_charge, gateway, std::move(faults))).json());
  router.add(http::get("/v1/charges/{idempotency_key}", Access::anyone, handle(find_charge, gateway)));
  router.add(http::post("/v1/refunds", Access::anyone, handle(create_refund, gateway, std::move(refund_faults))).json());
  router.add(http::get("/v1/refunds/{idempotency_key}", Access::anyone, handle(find_refund, gateway)));
}

}  // namespace payments
