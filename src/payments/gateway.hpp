#pragma once
// The payment gateway as the payment service sees it: charge a card under an idempotency key, refund
// (part of) a charge under a refund's own key, and look a key up again when an outcome was lost. No
// Beast or Asio in here.
//
// Implementations: MockGateway (in-process, the default), HttpGateway (JSON over HTTP to a gateway
// speaking docs/payment-gateway.md, e.g. `orderd mock-gateway`). make_gateway() picks one from the
// `payment_gateway` setting.
//
// Card data passes through here and nowhere else: no implementation logs or keeps a card number,
// expiry or CVC; only brand and last four digits may leave this module.

#include "common/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace common {
class Metrics;
}

namespace payments {

struct Card {
  std::string number;  // digits only
  int exp_month = 0;   // 1-12
  int exp_year = 0;    // four digits
  std::string cvc;
};

// Format checks for the make_payment body: card number 12-19 digits (spaces and dashes allowed and
// stripped), expiry "MM/YY" with a real month, CVC 3-4 digits. Records DRF-style messages into `errors`
// under the field names card_number, expiry_date and cvv; returns the Card when all three are valid.
// A past expiry or a failing Luhn check is not a format error: the gateway declines those (402).
std::optional<Card> parse_card(std::string_view number, std::string_view expiry, std::string_view cvv,
                               common::FieldErrors& errors);

// "visa", "mastercard", "amex", "discover" or "unknown", from the number's prefix.
std::string card_brand(std::string_view digits);
// The last four digits: all that may be stored or logged of a card number.
std::string last4(std::string_view digits);

struct ChargeRequest {
  std::string idempotency_key;  // 1-255 printable characters; the same key never charges twice
  std::int64_t amount_minor = 0;
  std::string currency = "usd";
  Card card;
  std::string description;
};

// 1-255 printable ASCII characters: the protocol's rule for an idempotency key (docs/payment-gateway.md),
// which the HTTP client checks before sending and both mocks check on receipt.
bool valid_idempotency_key(std::string_view key);

enum class Outcome {
  approved,
  declined,  // the card was refused; decline_code says why. Not charged.
  error,     // the gateway says it did not charge (processing error, conflict, rejected request): try later
  unknown,   // timeout or connection lost after sending: the card may have been charged; reconcile with lookup()
};
std::string_view to_string(Outcome) noexcept;

struct ChargeResult {
  Outcome outcome = Outcome::error;
  std::string reference;     // the gateway's charge id ("ch_..."), when it gave one
  // declined: card_declined, incorrect_number, insufficient_funds, expired_card, incorrect_cvc.
  // error: processing_error, idempotency_conflict, or empty when the gateway could not be reached.
  std::string decline_code;
  std::string message;       // for logs and people; never contains card data
};

enum class LookupStatus {
  approved,     // the key was charged: reference is the charge id
  declined,     // the key was declined (nothing charged)
  not_found,    // the gateway never charged this key
  unavailable,  // no answer: ask again later
};
std::string_view to_string(LookupStatus) noexcept;

struct LookupResult {
  LookupStatus status = LookupStatus::unavailable;
  std::string reference;
  std::string decline_code;
};

// A refund of (part of) a charge. The gateway refunds a key at most once and never more than what is
// left of the charge.
struct GatewayRefundRequest {
  std::string idempotency_key;  // the refund's own key (never the charge's)
  std::string charge;           // the charge's reference, "ch_..."
  std::int64_t amount_minor = 0;
  std::string currency = "usd";  // what the charge was made in (ChargeRequest::currency)
};

enum class RefundOutcome {
  succeeded,
  refused,  // the gateway refused this refund (failure_code says why): nothing refunded, and it stays so
  error,    // the gateway says it did not refund (processing error, conflict, rejected request): try later
  unknown,  // timeout or connection lost after sending: maybe refunded; reconcile with lookup_refund()
};
std::string_view to_string(RefundOutcome) noexcept;

struct RefundResult {
  RefundOutcome outcome = RefundOutcome::error;
  std::string reference;  // the gateway's refund id ("re_..."), when it gave one
  // refused: charge_not_found, amount_exceeds_charge, currency_mismatch, expired_or_canceled_card.
  // error: processing_error, idempotency_conflict, or empty when the gateway could not be reached.
  std::string failure_code;
  std::string message;
};

enum class RefundLookupStatus {
  succeeded,    // the key was refunded: reference is the refund id
  refused,      // the key was refused (nothing refunded)
  not_found,    // the gateway never refunded this key
  unavailable,  // no answer: ask again later
};
std::string_view to_string(RefundLookupStatus) noexcept;

struct RefundLookupResult {
  RefundLookupStatus status = RefundLookupStatus::unavailable;
  std::string reference;
  std::string failure_code;
};

class Gateway {
 public:
  virtual ~Gateway() = default;
  // Blocking; call it on a worker thread. Never throws for gateway trouble: that is Outcome::error/unknown.
  virtual ChargeResult charge(const ChargeRequest& request) = 0;
  // What the gateway knows of a key, to settle a payment whose charge() ended `unknown`.
  virtual LookupResult lookup(const std::string& idempotency_key) = 0;
  // Blocking, like charge(); never throws for gateway trouble.
  virtual RefundResult refund(const GatewayRefundRequest& request) = 0;
  // What the gateway knows of a refund's key, to settle a refund whose refund() ended `unknown`.
  virtual RefundLookupResult lookup_refund(const std::string& idempotency_key) = 0;
};

// Where an HTTP gateway is: "http://host[:port][/prefix]" taken apart (host without brackets, port
// 80 unless given, prefix without a trailing slash). Throws std::invalid_argument, saying why, for
// anything else.
struct GatewayAddress {
  std::string host;
  std::string port;
  std::string prefix;
};
GatewayAddress parse_gateway_url(const std::string& url);

// Throws std::invalid_argument, saying why, unless `setting` is what make_gateway takes.
void check_gateway_setting(const std::string& setting);

// "mock" -> MockGateway; "http://host:port" -> HttpGateway (the whole of one call, retries included,
// is bounded by `timeout`). Anything else throws std::invalid_argument. With `metrics`, every call is
// timed into orderd_gateway_request_duration_seconds{gateway, operation, outcome}.
std::unique_ptr<Gateway> make_gateway(const std::string& setting, std::chrono::milliseconds timeout,
                                      common::Metrics* metrics = nullptr);

}  // namespace payments
