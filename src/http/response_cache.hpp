#pragma once
// Responses kept while the data they were made from is unchanged. Each entry is stamped with the
// database's write generation (db::Database::write_generation) read before the data was: it is
// served only while the generation is the same, so a write committed by this process retires it
// at once, and only while it is younger than `max_age`, which bounds how long a write by another
// process (the CLI's product import on the same SQLite file) can go unseen.
//
// A response is made once per generation: requests that find it being made (same key, same
// generation) wait for it rather than read the same data again. That is what keeps the catalogue
// cheap while orders are placed: each order retires the pages, and without it every request that
// arrived before the first one's answer would read the page too. A waiter's data is as fresh as a
// kept page's: read after the generation it asked at.

#include "http/message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
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

  // The response kept for `key` at `generation`, or the one being made for it (waited for), or else
  // the one `make` returns, then kept. What `make` throws, its waiters get too; nothing is kept then.
  // When full, the cache starts over (a client walking through endless distinct queries costs the
  // cache its hits, never memory).
  Response serve(const std::string& key, std::uint64_t generation, const std::function<Response()>& make);
  // The response kept for `key` at `generation` if it is made already; never waits (an I/O thread's
  // look before it hands the request to the handler pool: Route::kept).
  std::optional<Response> find(const std::string& key, std::uint64_t generation);

 private:
  struct Entry {
    std::uint64_t generation;
    std::uint64_t serial;  // which make() this is, so a failed one forgets only its own entry
    std::chrono::steady_clock::time_point made;  // when making began: the data is at least this fresh
    std::shared_future<Response> response;       // ready, or being made
  };
  std::optional<std::shared_future<Response>> current(const std::string& key, std::uint64_t generation,
                                                      std::chrono::steady_clock::time_point now) const;
  void forget(const std::string& key, std::uint64_t serial);

  std::size_t capacity_;
  std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::uint64_t serial_ = 0;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace http
