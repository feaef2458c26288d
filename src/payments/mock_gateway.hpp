#pragma once
// The in-process gateway (the default): judges cards by the mock rules (mock_rules.hpp) and remembers
// charges and refunds by idempotency key, so a repeated key replays the first answer instead of
// charging or refunding again. It keeps what is left to refund of each charge it remembers, so no
// refund goes beyond it. Thread-safe. The `orderd mock-gateway` server is an HTTP face on this same class.

#include "payments/gateway.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace payments {

// What the mock remembers of a key: the answer and the card's brand and last four, never the card.
struct StoredCharge {
  ChargeResult result;  // approved or declined; processing errors and conflicts are not remembered
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string brand;
  std::string last4;
};

// What the mock remembers of a refund's key.
struct StoredRefund {
  RefundResult result;  // succeeded or refused
  std::string charge;
  std::int64_t amount_minor = 0;
  std::string currency;
};

class MockGateway final : public Gateway {
 public:
  struct Options {
    // Added to every charge after it is decided and remembered, so a caller that times out may well
    // have been charged: the case reconciliation exists for.
    std::chrono::milliseconds latency{0};
    // The oldest keys are forgotten beyond this. Each costs about 560 bytes, so the default bounds the
    // mock at about 6 MiB: minutes of keys at a shop's pace, a few seconds under the benchmark's.
    std::size_t remembered_keys = 10'000;
    std::function<std::chrono::year_month()> today;  // defaults to the current UTC month
  };

  MockGateway();
  explicit MockGateway(Options options);

  ChargeResult charge(const ChargeRequest& request) override;
  LookupResult lookup(const std::string& idempotency_key) override;
  std::optional<StoredCharge> find(const std::string& idempotency_key) const;
  RefundResult refund(const GatewayRefundRequest& request) override;
  RefundLookupResult lookup_refund(const std::string& idempotency_key) override;
  std::optional<StoredRefund> find_refund(const std::string& idempotency_key) const;

 private:
  // Judges and remembers a charge, or replays the remembered answer for its key.
  ChargeResult decide(const ChargeRequest& request);
  // The same for a refund; call with mutex_ held.
  RefundResult decide_refund(const GatewayRefundRequest& request);
  void forget_oldest();

  struct Entry {
    std::string fingerprint;  // a hash of amount, currency and card: tells a replay from a conflict
    StoredCharge charge;
  };
  // What is left to refund of an approved charge, by its reference; forgotten with the charge's key.
  struct Ledger {
    std::int64_t amount_minor = 0;
    std::int64_t refunded_minor = 0;
    std::string currency;
    bool refuses_refunds = false;  // the test card whose refunds fail
  };
  struct RefundEntry {
    std::string fingerprint;  // charge, amount and currency: a replay or a conflict
    StoredRefund refund;
  };

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // keys, oldest first
  std::unordered_map<std::string, Ledger> ledgers_;
  std::unordered_map<std::string, RefundEntry> refunds_;
  std::deque<std::string> refund_order_;  // refund keys, oldest first
};

}  // namespace payments
