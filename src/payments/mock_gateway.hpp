#pragma once
// The in-process gateway (the default): judges cards by the mock rules (mock_rules.hpp) and remembers
// charges by idempotency key, so a repeated key replays the first answer instead of charging again.
// Thread-safe. The `orderd mock-gateway` server is an HTTP face on this same class.

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

 private:
  // Judges and remembers a charge, or replays the remembered answer for its key.
  ChargeResult decide(const ChargeRequest& request);

  struct Entry {
    std::string fingerprint;  // a hash of amount, currency and card: tells a replay from a conflict
    StoredCharge charge;
  };

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // keys, oldest first
};

}  // namespace payments
