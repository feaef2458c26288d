#pragma once
// Counts failures per key (an email, a client address) in a sliding window. Kept in memory, per
// node: with several nodes each enforces its own count. Bounded: at most `max_keys` keys.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

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
  void prune(std::deque<Clock::time_point>& failures, Clock::time_point now) const;

  int limit_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace auth
