#include "auth/throttle.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace auth {

Throttle::Throttle(int limit, std::chrono::seconds window, std::size_t max_keys)
    : limit_(std::max(1, limit)), window_(static_cast<std::int32_t>(window.count())), max_keys_(max_keys) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

Throttle::Digest Throttle::digest(std::string_view key) {
  Digest out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return out;
}

std::size_t Throttle::DigestHash::operator()(const Digest& d) const noexcept {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

std::int32_t Throttle::seconds(Clock::time_point at) const {
  return static_cast<std::int32_t>(std::chrono::floor<std::chrono::seconds>(at - epoch_).count());
}

void Throttle::prune(Times& times, std::int32_t now) const {
  auto live = std::find_if(times.begin(), times.end(), [&](auto at) { return at + window_ > now; });
  times.erase(times.begin(), live);
}

std::int64_t Throttle::retry_after(std::string_view key, Clock::time_point at) {
  auto now = seconds(at);
  std::lock_guard lock(mutex_);
  auto it = times_.find(digest(key));
  if (it == times_.end()) return 0;
  prune(it->second, now);
  if (static_cast<int>(it->second.size()) < limit_) return 0;
  return std::max<std::int64_t>(it->second.front() + window_ - now, 1);
}

void Throttle::record(std::string_view key, Clock::time_point at) {
  auto now = seconds(at);
  auto d = digest(key);
  std::lock_guard lock(mutex_);
  if (times_.size() >= max_keys_ && !times_.contains(d)) {
    for (auto it = times_.begin(); it != times_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? times_.erase(it) : std::next(it);
    }
    if (times_.size() >= max_keys_) times_.erase(times_.begin());
  }
  auto& list = times_[d];
  if (list.capacity() == 0) list.reserve(static_cast<std::size_t>(limit_));
  if (static_cast<int>(list.size()) == limit_) list.erase(list.begin());  // only the newest `limit` matter
  list.push_back(now);
}

void Throttle::reset(std::string_view key) {
  auto d = digest(key);
  std::lock_guard lock(mutex_);
  times_.erase(d);
}

std::size_t Throttle::bytes_per_key(int limit) noexcept {
  // The map's node (next pointer, digest, vector, cached hash: 56 bytes, a 64-byte chunk), the
  // vector's buffer (limit times 4 bytes plus malloc's 8, in 16-byte steps, at least 32) and the
  // key's bucket pointer.
  auto buffer = std::max<std::size_t>(32, (static_cast<std::size_t>(std::max(1, limit)) * 4 + 8 + 15) / 16 * 16);
  return 64 + buffer + 8;
}

}  // namespace auth
