#pragma once
// Responses kept while the data they were made from is unchanged. Each entry is stamped with the
// database's write generation (db::Database::write_generation) read before the data was: it is
// served only while the generation is the same, so a write committed by this process retires it
// at once, and only while it is younger than `max_age`, which bounds how long a write by another
// process (the CLI's product import on the same SQLite file) can go unseen.

#include "http/message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace http {

class ResponseCache {
 public:
  ResponseCache(std::size_t capacity, std::chrono::milliseconds max_age) : capacity_(capacity), max_age_(max_age) {}

  // What identifies a response to a GET: the base of its links, the path and the whole query.
  static std::string key(const Request& request);

  std::optional<Response> find(const std::string& key, std::uint64_t generation);
  // Keeps a response made from data read at `generation`; when full, starts over (a client walking
  // through endless distinct queries costs the cache its hits, never memory).
  void store(std::string key, std::uint64_t generation, const Response& response);

 private:
  struct Entry {
    std::uint64_t generation;
    std::chrono::steady_clock::time_point made;
    Response response;
  };
  std::size_t capacity_;
  std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace http
