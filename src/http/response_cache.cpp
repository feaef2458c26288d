#include "http/response_cache.hpp"

namespace http {

std::string ResponseCache::key(const Request& request) {
  std::string key = request.base_url;
  key += request.path;
  // Each decoded part with its length first: no two queries make the same key.
  for (const auto& [name, value] : request.query) {
    for (const auto& part : {std::string_view(name), std::string_view(value)}) {
      key += ' ';
      key += std::to_string(part.size());
      key += ':';
      key += part;
    }
  }
  return key;
}

// Under mutex_: the entry for `key` if it is still to be served at `generation`.
std::optional<std::shared_future<Response>> ResponseCache::current(const std::string& key, std::uint64_t generation,
                                                                   std::chrono::steady_clock::time_point now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.generation != generation || now - it->second.made > max_age_) {
    return std::nullopt;
  }
  return it->second.response;
}

Response ResponseCache::serve(const std::string& key, std::uint64_t generation,
                             const std::function<Response()>& make) {
  std::promise<Response> promise;
  std::uint64_t serial = 0;
  {
    std::unique_lock lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (auto kept = current(key, generation, now)) {
      lock.unlock();
      return kept->get();  // waits while it is being made
    }
    if (!entries_.contains(key) && entries_.size() >= capacity_) entries_.clear();
    serial = ++serial_;
    entries_.insert_or_assign(key, Entry{generation, serial, now, promise.get_future().share()});
  }
  try {
    auto response = make();
    promise.set_value(response);
    return response;
  } catch (...) {
    promise.set_exception(std::current_exception());
    forget(key, serial);
    throw;
  }
}

std::optional<Response> ResponseCache::find(const std::string& key, std::uint64_t generation) {
  std::optional<std::shared_future<Response>> kept;
  {
    std::lock_guard lock(mutex_);
    kept = current(key, generation, std::chrono::steady_clock::now());
  }
  if (!kept || kept->wait_for(std::chrono::seconds(0)) != std::future_status::ready) return std::nullopt;
  try {
    return kept->get();
  } catch (...) {  // making it failed: the request goes on to make it again
    return std::nullopt;
  }
}

void ResponseCache::forget(const std::string& key, std::uint64_t serial) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end() && it->second.serial == serial) entries_.erase(it);
}

}  // namespace http
