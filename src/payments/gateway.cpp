#include "payments/gateway.hpp"

#include "common/metrics.hpp"
#include "payments/http_gateway.hpp"
#include "payments/mock_gateway.hpp"

#include <fmt/format.h>

#include <array>
#include <stdexcept>

namespace payments {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

bool starts_between(std::string_view digits, std::size_t width, int low, int high) {
  if (digits.size() < width) return false;
  int prefix = std::stoi(std::string(digits.substr(0, width)));
  return prefix >= low && prefix <= high;
}

constexpr std::array kGatewayLatencyBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};

// Times every call of another gateway into orderd_gateway_request_duration_seconds.
class MeasuredGateway final : public Gateway {
 public:
  MeasuredGateway(std::unique_ptr<Gateway> inner, std::string kind, common::Metrics& metrics)
      : inner_(std::move(inner)), kind_(std::move(kind)), metrics_(metrics) {}

  ChargeResult charge(const ChargeRequest& request) override {
    auto started = std::chrono::steady_clock::now();
    auto result = inner_->charge(request);
    observe("charge", to_string(result.outcome), started);
    return result;
  }

  LookupResult lookup(const std::string& idempotency_key) override {
    auto started = std::chrono::steady_clock::now();
    auto result = inner_->lookup(idempotency_key);
    observe("lookup", to_string(result.status), started);
    return result;
  }

  RefundResult refund(const GatewayRefundRequest& request) override {
    auto started = std::chrono::steady_clock::now();
    auto result = inner_->refund(request);
    observe("refund", to_string(result.outcome), started);
    return result;
  }

  RefundLookupResult lookup_refund(const std::string& idempotency_key) override {
    auto started = std::chrono::steady_clock::now();
    auto result = inner_->lookup_refund(idempotency_key);
    observe("lookup_refund", to_string(result.status), started);
    return result;
  }

 private:
  void observe(std::string_view operation, std::string_view outcome, std::chrono::steady_clock::time_point started) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_
        .histogram("orderd_gateway_request_duration_seconds", "Payment gateway calls by operation and outcome.",
                   fmt::format(R"(gateway="{}",operation="{}",outcome="{}")", kind_, operation, outcome),
                   kGatewayLatencyBuckets)
        .observe(seconds);
  }

  std::unique_ptr<Gateway> inner_;
  std::string kind_;
  common::Metrics& metrics_;
};

}  // namespace

std::optional<Card> parse_card(std::string_view number, std::string_view expiry, std::string_view cvv,
                               common::FieldErrors& errors) {
  Card card;
  bool ok = true;

  for (char c : number) {
    if (c == ' ' || c == '-') continue;
    card.number.push_back(c);
  }
  if (!all_digits(card.number) || card.number.size() < 12 || card.number.size() > 19) {
    errors.add("card_number", "Enter a valid card number of 12 to 19 digits.");
    ok = false;
  }

  if (expiry.size() != 5 || expiry[2] != '/' || !all_digits(expiry.substr(0, 2)) || !all_digits(expiry.substr(3))) {
    errors.add("expiry_date", "Enter the expiry date as MM/YY.");
    ok = false;
  } else {
    card.exp_month = (expiry[0] - '0') * 10 + (expiry[1] - '0');
    card.exp_year = 2000 + (expiry[3] - '0') * 10 + (expiry[4] - '0');
    if (card.exp_month < 1 || card.exp_month > 12) {
      errors.add("expiry_date", "Enter a valid month (01-12).");
      ok = false;
    }
  }

  if (!all_digits(cvv) || cvv.size() < 3 || cvv.size() > 4) {
    errors.add("cvv", "Enter a valid CVV of 3 or 4 digits.");
    ok = false;
  } else {
    card.cvc = std::string(cvv);
  }

  if (!ok) return std::nullopt;
  return card;
}

std::string card_brand(std::string_view digits) {
  if (!all_digits(digits)) return "unknown";
  if (digits.front() == '4') return "visa";
  if (starts_between(digits, 2, 51, 55) || starts_between(digits, 4, 2221, 2720)) return "mastercard";
  if (starts_between(digits, 2, 34, 34) || starts_between(digits, 2, 37, 37)) return "amex";
  if (starts_between(digits, 4, 6011, 6011) || starts_between(digits, 2, 65, 65) ||
      starts_between(digits, 3, 644, 649) || starts_between(digits, 6, 622126, 622925)) {
    return "discover";
  }
  return "unknown";
}

std::string last4(std::string_view digits) {
  return std::string(digits.size() > 4 ? digits.substr(digits.size() - 4) : digits);
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::approved: return "approved";
    case Outcome::declined: return "declined";
    case Outcome::error: return "error";
    case Outcome::unknown: return "unknown";
  }
  return "unknown";
}

std::string_view to_string(LookupStatus status) noexcept {
  switch (status) {
    case LookupStatus::approved: return "approved";
    case LookupStatus::declined: return "declined";
    case LookupStatus::not_found: return "not_found";
    case LookupStatus::unavailable: return "unavailable";
  }
  return "unavailable";
}

std::string_view to_string(RefundOutcome outcome) noexcept {
  switch (outcome) {
    case RefundOutcome::succeeded: return "succeeded";
    case RefundOutcome::refused: return "refused";
    case RefundOutcome::error: return "error";
    case RefundOutcome::unknown: return "unknown";
  }
  return "unknown";
}

std::string_view to_string(RefundLookupStatus status) noexcept {
  switch (status) {
    case RefundLookupStatus::succeeded: return "succeeded";
    case RefundLookupStatus::refused: return "refused";
    case RefundLookupStatus::not_found: return "not_found";
    case RefundLookupStatus::unavailable: return "unavailable";
  }
  return "unavailable";
}

void check_gateway_setting(const std::string& setting) {
  if (setting == "mock") return;
  if (!setting.starts_with("http://")) {
    throw std::invalid_argument("must be \"mock\" or an http:// URL (https is not supported)");
  }
  (void)parse_gateway_url(setting);
}

std::unique_ptr<Gateway> make_gateway(const std::string& setting, std::chrono::milliseconds timeout,
                                      common::Metrics* metrics) {
  std::unique_ptr<Gateway> gateway;
  std::string kind;
  if (setting == "mock") {
    gateway = std::make_unique<MockGateway>();
    kind = "mock";
  } else if (setting.starts_with("http://")) {
    gateway = std::make_unique<HttpGateway>(setting, timeout);
    kind = "http";
  } else {
    // The setting is not echoed: a URL may carry credentials.
    throw std::invalid_argument("the payment gateway must be \"mock\" or an http:// URL (https is not supported)");
  }
  if (metrics == nullptr) return gateway;
  return std::make_unique<MeasuredGateway>(std::move(gateway), kind, *metrics);
}

}  // namespace payments
