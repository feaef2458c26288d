#pragma once
// At most one log line per interval for a message that can repeat thousands of times a second (every
// failed email attempt while the mail server is down, every refused connection while the database
// is): the first is logged at once, the next one after `interval`, telling how many were left out.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace common {

class LogLimit {
 public:
  explicit LogLimit(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  // Whether to log now; if so, how many lines were left out since the last one (0 for none).
  std::optional<std::int64_t> allow(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    std::lock_guard lock(mutex_);
    if (logged_ && now - *logged_ < interval_) {
      ++left_out_;
      return std::nullopt;
    }
    logged_ = now;
    auto left_out = left_out_;
    left_out_ = 0;
    return left_out;
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::mutex mutex_;
  std::optional<std::chrono::steady_clock::time_point> logged_;
  std::int64_t left_out_ = 0;
};

// " (and 12 more like it left out)", or "" when none were.
inline std::string left_out_note(std::int64_t left_out) {
  return left_out == 0 ? std::string() : " (and " + std::to_string(left_out) + " more like it left out)";
}

}  // namespace common
