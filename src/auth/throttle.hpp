#pragma once
// Counts events per key (failed logins of an account from an address, registrations from an address)
// in a sliding window. Kept in memory, per node: with several nodes each enforces its own count.
//
// Bounded in bytes whatever the keys are: a key is stored as a 16-byte BLAKE2b digest of what the
// caller names it by (a megabyte-long email costs the same as a short one), each key keeps at most
// `limit` times of 4 bytes, and at most `max_keys` keys are kept (expired ones are dropped first,
// then arbitrary ones). memory_bound() says what that comes to (docs/security.md has the figures).

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace auth {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;

  Throttle(int limit, std::chrono::seconds window, std::size_t max_keys = 100'000);

  // Seconds until `key` may try again; 0 when it may try now.
  std::int64_t retry_after(std::string_view key, Clock::time_point now = Clock::now());
  void record(std::string_view key, Clock::time_point now = Clock::now());
  void reset(std::string_view key);

  // What one key with `limit` times costs, as glibc allocates it; a budget in bytes divided by this
  // is the `max_keys` that keeps a throttle within the budget.
  static std::size_t bytes_per_key(int limit) noexcept;
  // The most this throttle holds, in bytes: max_keys keys of `limit` times each.
  std::size_t memory_bound() const noexcept { return max_keys_ * bytes_per_key(limit_); }

 private:
  using Digest = std::array<unsigned char, 16>;
  struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept;
  };
  using Times = std::vector<std::int32_t>;  // seconds since epoch_, oldest first, at most limit_

  static Digest digest(std::string_view key);
  std::int32_t seconds(Clock::time_point at) const;
  void prune(Times& times, std::int32_t now) const;

  int limit_;
  std::int32_t window_;
  std::size_t max_keys_;
  Clock::time_point epoch_ = Clock::now();
  std::mutex mutex_;
  std::unordered_map<Digest, Times, DigestHash> times_;
};

}  // namespace auth
