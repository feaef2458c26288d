#pragma once
// Counts failures per key (an email, a client address) in a sliding window. Kept in memory, per
// node: with several nodes each enforces its own count. Bounded: at most `max_keys` keys, each with
// at most `limit` times: about 150 bytes a key for the per-email limit of 5.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace auth {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;

  Throttle(int limit, std::chrono::seconds window, std::size_t max_keys = 100'000);

  // Seconds until `key` may try again; 0 when it may try now.
  std::int64_t retry_after(const std::string& key, Clock::time_point now = Clock::now());
  void record_failure(const std::string& key, Clock::time_point now = Clock::now());
  void reset(const std::string& key);

 private:
  using Failures = std::vector<Clock::time_point>;  // oldest first, at most limit_
  void prune(Failures& failures, Clock::time_point now) const;

  int limit_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Failures> failures_;
};

}  // namespace auth
