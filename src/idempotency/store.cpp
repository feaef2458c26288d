#include "idempotency/store.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace idempotency {
namespace {

constexpr std::string_view kClaim =
    "INSERT INTO idempotency_keys (user_id, key, route, request_hash, created_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (user_id, key) DO NOTHING";
constexpr std::string_view kFind =
    "SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2";
constexpr std::string_view kFinish =
    "UPDATE idempotency_keys SET status = $3, response = $4 WHERE user_id = $1 AND key = $2";
constexpr std::string_view kRelease = "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL";
constexpr std::string_view kPurge = "DELETE FROM idempotency_keys WHERE created_at < $1";

void check_key(std::string_view key) {
  bool printable = std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  if (key.size() > 255 || !printable) {
    throw common::Error("validation_error", "Idempotency-Key must be 1-255 printable characters",
                        {{"Idempotency-Key", boost::json::array{"Must be 1-255 printable ASCII characters."}}});
  }
}

// What makes two requests "the same": the route and the identity the route gives them.
std::string request_hash(const http::Request& request, std::string_view identity) {
  auto text = std::string(to_string(request.method)) + " " + request.path + "\n" + std::string(identity);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

// The stored form of a response: the status in its column, the body as it was sent.
http::Response replay(std::int64_t status, const std::string& body) {
  http::Response r;
  r.status = static_cast<int>(status);
  r.body = body;
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

}  // namespace

http::Response Store::run(const http::Request& request, const Work& work) {
  if (request.idempotency_key.empty()) return work({});
  return run(request, boost::json::serialize(request.json), work);  // parsed, so whitespace does not matter
}

std::optional<http::Response> Store::claim(std::int64_t user, const std::string& key, const std::string& route,
                                           const std::string& hash) {
  auto deadline = std::chrono::steady_clock::now() + settings_.wait;
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    struct Seen {
      bool claimed = false;
      std::string hash;
      std::optional<std::int64_t> status;
      std::string response;
    };
    auto seen = database_.transaction([&](db::Connection& c) {
      Seen s;
      s.claimed = c.query(kClaim, user, key, route, hash, common::now_micros()).affected_rows == 1;
      if (s.claimed) return s;
      auto row = c.query(kFind, user, key);
      if (auto r = row.first()) {
        s.hash = r->text(0);
        s.status = r->optional_integer(1);
        s.response = r->optional_text(2).value_or("");
      }
      return s;
    });
    if (seen.claimed) return std::nullopt;
    if (seen.hash.empty()) continue;  // released between our insert and our read
    if (seen.hash != hash) {
      throw common::Error("idempotency_conflict", "This Idempotency-Key was used with a different request; use a new key");
    }
    if (seen.status) return replay(*seen.status, seen.response);
    if (std::chrono::steady_clock::now() >= deadline) {
      throw common::Error("idempotency_conflict", "A request with this Idempotency-Key is still being processed");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

http::Response Store::run(const http::Request& request, std::string_view identity, const Work& work) {
  const auto& key = request.idempotency_key;
  if (key.empty()) return work({});  // nothing to remember: no finish, no work in the transaction
  check_key(key);
  auto user = request.user().user_id;
  if (auto replayed = claim(user, key, request.path, request_hash(request, identity))) return std::move(*replayed);

  // We hold the claim: do the work once, and leave its answer for the duplicates.
  bool finished = false;
  Finish finish = [&](db::Connection& c, const http::Response& response) {
    c.query(kFinish, user, key, response.status, response.body);
    finished = true;
  };
  auto release = [&] {
    try {
      database_.transaction([&](db::Connection& c) { c.query(kRelease, user, key); });
    } catch (const std::exception& e) {
      spdlog::error("could not release idempotency key after a failure: {}", e.what());
    }
  };
  http::Response response;
  try {
    response = work(finish);
  } catch (const common::Error& e) {
    finished = false;  // a finish inside a transaction that then failed was rolled back with it
    response = http::error_response(e.code(), e.what(), e.details());
  } catch (...) {
    release();  // nothing was done: a retry with the same key may try again
    throw;
  }
  if (!finished) {
    if (response.status >= 500) release();  // an outage is not an answer to remember
    else database_.transaction([&](db::Connection& c) { finish(c, response); });
  }
  return response;
}

std::int64_t Store::purge(std::int64_t now_micros) {
  auto cutoff = now_micros - std::chrono::duration_cast<std::chrono::microseconds>(settings_.keep).count();
  return database_.transaction([&](db::Connection& c) { return c.query(kPurge, cutoff).affected_rows; });
}

}  // namespace idempotency
