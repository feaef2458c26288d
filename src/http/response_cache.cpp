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

std::optional<Response> ResponseCache::find(const std::string& key, std::uint64_t generation) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.generation != generation || std::chrono::steady_clock::now() - it->second.made > max_age_) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.response;
}

void ResponseCache::store(std::string key, std::uint64_t generation, const Response& response) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_ && !entries_.contains(key)) entries_.clear();
  entries_.insert_or_assign(std::move(key), Entry{generation, now, response});
}

}  // namespace http
