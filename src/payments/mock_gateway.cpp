#include "payments/mock_gateway.hpp"

#include "payments/mock_rules.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <thread>

namespace payments {
namespace {

std::string new_charge_id() {
  std::array<unsigned char, 12> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, bytes.size() * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return "ch_" + std::string(hex.data());
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
  result.reference = new_charge_id();
  entries_.emplace(request.idempotency_key,
                   Entry{std::move(print), StoredCharge{result, request.amount_minor, request.currency,
                                                        card_brand(request.card.number), last4(request.card.number)}});
  order_.push_back(request.idempotency_key);
  while (order_.size() > options_.remembered_keys) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  return result;
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

}  // namespace payments
