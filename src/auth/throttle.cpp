#include "auth/throttle.hpp"

#include <algorithm>

namespace auth {

Throttle::Throttle(int limit, std::chrono::seconds window, std::size_t max_keys)
    : limit_(limit), window_(window), max_keys_(max_keys) {}

void Throttle::prune(Failures& failures, Clock::time_point now) const {
  auto live = std::find_if(failures.begin(), failures.end(), [&](auto at) { return at + window_ > now; });
  failures.erase(failures.begin(), live);
}

std::int64_t Throttle::retry_after(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now);
  if (static_cast<int>(it->second.size()) < limit_) return 0;
  auto wait = std::chrono::ceil<std::chrono::seconds>(it->second.front() + window_ - now).count();
  return std::max<std::int64_t>(wait, 1);
}

void Throttle::record_failure(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (failures_.size() >= max_keys_ && !failures_.contains(key)) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= max_keys_) failures_.erase(failures_.begin());
  }
  auto& list = failures_[key];
  list.push_back(now);
  if (static_cast<int>(list.size()) > limit_) list.erase(list.begin());  // only the newest `limit` matter
}

void Throttle::reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

}  // namespace auth
