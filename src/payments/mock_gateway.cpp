#include "payments/mock_gateway.hpp"

#include "payments/mock_rules.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <thread>

namespace payments {
namespace {

// "ch_..." for a charge, "re_..." for a refund.
std::string new_id(std::string_view prefix) {
  std::array<unsigned char, 12> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, bytes.size() * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return std::string(prefix) + std::string(hex.data());
}

// A one-way digest of what makes two requests "the same charge"; the card itself is not kept.
std::string fingerprint(const ChargeRequest& request) {
  auto canonical = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.amount_minor, request.currency, request.card.number,
                               request.card.exp_month, request.card.exp_year, request.card.cvc);
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size(), nullptr, 0);
  sodium_memzero(canonical.data(), canonical.size());
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

}  // namespace

MockGateway::MockGateway() : MockGateway(Options{}) {}

MockGateway::MockGateway(Options options) : options_(std::move(options)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (!options_.today) options_.today = current_month;
  if (options_.remembered_keys == 0) options_.remembered_keys = 1;
}

ChargeResult MockGateway::charge(const ChargeRequest& request) {
  if (!valid_idempotency_key(request.idempotency_key)) {
    return {Outcome::error, "", "", "An idempotency key of 1-255 printable characters is required."};
  }
  if (request.amount_minor <= 0) return {Outcome::error, "", "", "The amount must be a positive integer."};

  auto result = decide(request);
  if (options_.latency.count() > 0) std::this_thread::sleep_for(options_.latency);
  return result;
}

ChargeResult MockGateway::decide(const ChargeRequest& request) {
  auto print = fingerprint(request);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(request.idempotency_key); it != entries_.end()) {
    if (it->second.fingerprint != print) {
      return {Outcome::error, "", "idempotency_conflict",
              "This idempotency key was already used for a different amount or card."};
    }
    return it->second.charge.result;  // a replay: the first answer, no second charge
  }
  auto verdict = judge(request.card, options_.today());
  ChargeResult result{verdict.outcome, "", verdict.decline_code, verdict.message};
  if (verdict.outcome == Outcome::error) return result;  // nothing charged, nothing to remember
  result.reference = new_id("ch_");
  entries_.emplace(request.idempotency_key,
                   Entry{std::move(print), StoredCharge{result, request.amount_minor, request.currency,
                                                        card_brand(request.card.number), last4(request.card.number)}});
  if (result.outcome == Outcome::approved) {
    ledgers_.emplace(result.reference, Ledger{request.amount_minor, 0, request.currency, refuses_refunds(request.card)});
  }
  order_.push_back(request.idempotency_key);
  forget_oldest();
  return result;
}

void MockGateway::forget_oldest() {
  while (order_.size() > options_.remembered_keys) {
    if (auto it = entries_.find(order_.front()); it != entries_.end()) {
      ledgers_.erase(it->second.charge.result.reference);
      entries_.erase(it);
    }
    order_.pop_front();
  }
  while (refund_order_.size() > options_.remembered_keys) {
    refunds_.erase(refund_order_.front());
    refund_order_.pop_front();
  }
}

LookupResult MockGateway::lookup(const std::string& idempotency_key) {
  auto stored = find(idempotency_key);
  if (!stored) return {LookupStatus::not_found, "", ""};
  const auto& r = stored->result;
  return {r.outcome == Outcome::approved ? LookupStatus::approved : LookupStatus::declined, r.reference,
          r.decline_code};
}

std::optional<StoredCharge> MockGateway::find(const std::string& idempotency_key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(idempotency_key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.charge;
}

RefundResult MockGateway::refund(const GatewayRefundRequest& request) {
  if (!valid_idempotency_key(request.idempotency_key)) {
    return {RefundOutcome::error, "", "", "An idempotency key of 1-255 printable characters is required."};
  }
  if (request.amount_minor <= 0) return {RefundOutcome::error, "", "", "The amount must be a positive integer."};
  RefundResult result;
  {
    std::lock_guard lock(mutex_);
    result = decide_refund(request);
  }
  if (options_.latency.count() > 0) std::this_thread::sleep_for(options_.latency);
  return result;
}

// The first request with a key decides, as for charges; the ledger keeps the sum of a charge's
// succeeded refunds at or below the charge.
RefundResult MockGateway::decide_refund(const GatewayRefundRequest& request) {
  auto print = fmt::format("{}\n{}\n{}", request.charge, request.amount_minor, request.currency);
  if (auto it = refunds_.find(request.idempotency_key); it != refunds_.end()) {
    if (it->second.fingerprint != print) {
      return {RefundOutcome::error, "", "idempotency_conflict",
              "This idempotency key was already used for a different charge, amount or currency."};
    }
    return it->second.refund.result;  // a replay: the first answer, no second refund
  }
  RefundResult result{RefundOutcome::refused, new_id("re_"), "", ""};
  auto ledger = ledgers_.find(request.charge);
  if (ledger == ledgers_.end()) {
    result.failure_code = "charge_not_found";
    result.message = "No such charge.";
  } else if (ledger->second.currency != request.currency) {
    result.failure_code = "currency_mismatch";
    result.message = "The refund's currency is not the charge's.";
  } else if (ledger->second.refuses_refunds) {
    result.failure_code = "expired_or_canceled_card";
    result.message = "The card was cancelled or has expired; the refund could not be made.";
  } else if (request.amount_minor > ledger->second.amount_minor - ledger->second.refunded_minor) {
    result.failure_code = "amount_exceeds_charge";
    result.message = "The refund is more than what is left of the charge.";
  } else {
    ledger->second.refunded_minor += request.amount_minor;
    result.outcome = RefundOutcome::succeeded;
    result.message = "Refund succeeded.";
  }
  refunds_.emplace(request.idempotency_key,
                   RefundEntry{std::move(print), {result, request.charge, request.amount_minor, request.currency}});
  refund_order_.push_back(request.idempotency_key);
  forget_oldest();
  return result;
}

RefundLookupResult MockGateway::lookup_refund(const std::string& idempotency_key) {
  auto stored = find_refund(idempotency_key);
  if (!stored) return {RefundLookupStatus::not_found, "", ""};
  const auto& r = stored->result;
  return {r.outcome == RefundOutcome::succeeded ? RefundLookupStatus::succeeded : RefundLookupStatus::refused,
          r.reference, r.failure_code};
}

std::optional<StoredRefund> MockGateway::find_refund(const std::string& idempotency_key) const {
  std::lock_guard lock(mutex_);
  auto it = refunds_.find(idempotency_key);
  if (it == refunds_.end()) return std::nullopt;
  return it->second.refund;
}

}  // namespace payments
