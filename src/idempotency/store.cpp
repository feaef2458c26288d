#include "idempotency/store.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace idempotency {
namespace {

constexpr std::string_view kClaim =
    "INSERT INTO idempotency_keys (user_id, key, route, request_hash, created_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (user_id, key) DO NOTHING";
// The same request's claim, unanswered for longer than the lease ($5: its latest created_at).
constexpr std::string_view kTakeOver =
    "UPDATE idempotency_keys SET created_at = $3 WHERE user_id = $1 AND key = $2 AND request_hash = $4"
    " AND status IS NULL AND created_at < $5";
constexpr std::string_view kFind =
    "SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2";
constexpr std::string_view kFinish =
    "UPDATE idempotency_keys SET status = $3, response = $4 WHERE user_id = $1 AND key = $2";
constexpr std::string_view kRelease = "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL";
constexpr std::string_view kPurge = "DELETE FROM idempotency_keys WHERE created_at < $1";

void check_key(const http::Request& request) {
  if (request.idempotency_key_headers > 1) {
    throw common::Error("validation_error", "Send one Idempotency-Key header",
                        {{"Idempotency-Key", boost::json::array{"Send this header once."}}});
  }
  const auto& key = request.idempotency_key;
  bool printable = std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  if (key.empty() || key.size() > 255 || !printable) {
    throw common::Error("validation_error", "Idempotency-Key must be 1-255 printable characters",
                        {{"Idempotency-Key", boost::json::array{"Must be 1-255 printable ASCII characters."}}});
  }
}

// A JSON value written with every object's members in key order: {"a":1,"b":2} and {"b":2,"a":1}
// are the same request (and so are any two spacings of it, the value being parsed).
void write_canonical(const boost::json::value& v, std::string& out) {
  if (v.is_array()) {
    out += '[';
    for (const auto& item : v.get_array()) {
      if (out.back() != '[') out += ',';
      write_canonical(item, out);
    }
    out += ']';
  } else if (v.is_object()) {
    std::vector<const boost::json::key_value_pair*> members;
    for (const auto& member : v.get_object()) members.push_back(&member);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out += '{';
    for (const auto* member : members) {
      if (out.back() != '{') out += ',';
      out += boost::json::serialize(boost::json::string_view(member->key()));
      out += ':';
      write_canonical(member->value(), out);
    }
    out += '}';
  } else {
    out += boost::json::serialize(v);
  }
}

std::string canonical(const boost::json::value& v) {
  std::string out;
  write_canonical(v, out);
  return out;
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

// The key's row as one look saw it.
struct Store::Seen {
  bool claimed = false;                // our insert made the row: the key is ours
  std::string hash;                    // the first request's; empty when the row went in between
  std::optional<std::int64_t> status;  // set once the first request has recorded its answer
  std::string response;
};

http::Response Store::run(const http::Request& request, const Work& work) {
  if (request.idempotency_key_headers == 0) return work({});
  return run(request, canonical(request.json), work);
}

http::Response Store::run(const http::Request& request, std::string_view identity, const Work& work) {
  const auto& key = request.idempotency_key;
  // Without the header, nothing to remember: no finish, no work in the transaction.
  if (request.idempotency_key_headers == 0) return work({});
  check_key(request);
  Held held{request.user().user_id, key};
  if (auto replayed = claim(held, request.path, request_hash(request, identity))) return std::move(*replayed);
  auto done = work_once(held, work);
  if (!done.recorded) record_after(held, done.response);
  return std::move(done.response);
}

Store::Seen Store::look(const Held& held, const std::string& route, const std::string& hash) {
  return database_.transaction([&](db::Connection& c) {
    Seen s;
    auto now = common::now_micros();
    s.claimed = c.query(kClaim, held.user, held.key, route, hash, now).affected_rows == 1;
    if (s.claimed) return s;
    auto stale = now - std::chrono::duration_cast<std::chrono::microseconds>(settings_.lease).count();
    s.claimed = c.query(kTakeOver, held.user, held.key, now, hash, stale).affected_rows == 1;
    if (s.claimed) {
      spdlog::warn("Idempotency-Key of user {} had no answer after {} s (its request died with its process): "
                   "this request does the work", held.user,
                   std::chrono::duration_cast<std::chrono::seconds>(settings_.lease).count());
      return s;
    }
    auto row = c.query(kFind, held.user, held.key);
    if (auto r = row.first()) {
      s.hash = r->text(0);
      s.status = r->optional_integer(1);
      s.response = r->optional_text(2).value_or("");
    }
    return s;
  });
}

std::optional<http::Response> Store::claim(const Held& held, const std::string& route, const std::string& hash) {
  Waiting waiting{std::chrono::steady_clock::now() + settings_.wait};
  for (;;) {
    auto seen = look(held, route, hash);
    if (seen.claimed) return std::nullopt;
    if (seen.hash.empty()) continue;  // released between our insert and our read: look again
    if (seen.hash != hash) {
      throw common::Error("idempotency_conflict", "This Idempotency-Key was used with a different request; use a new key");
    }
    if (seen.status) return replay(*seen.status, seen.response);
    wait(waiting);
  }
}

void Store::wait(Waiting& waiting) {
  if (std::chrono::steady_clock::now() >= waiting.deadline) {
    throw common::Error("idempotency_conflict", "A request with this Idempotency-Key is still being processed");
  }
  std::this_thread::sleep_for(waiting.pause);
  waiting.pause = std::min(waiting.pause * 2, std::chrono::milliseconds(100));
}

Store::Done Store::work_once(const Held& held, const Work& work) {
  bool recorded = false;
  Finish finish = [&](db::Connection& c, const http::Response& response) {
    record(c, held, response);
    recorded = true;
  };
  try {
    auto response = work(finish);
    return {std::move(response), recorded};
  } catch (const common::Error& e) {
    // Not recorded: a finish inside the transaction that failed was rolled back with it.
    return {http::error_response(e.code(), e.what(), e.details()), false};
  } catch (...) {
    release(held);  // nothing was done: a retry with the same key may try again
    throw;
  }
}

void Store::record(db::Connection& c, const Held& held, const http::Response& response) {
  c.defer(nullptr, kFinish, held.user, held.key, response.status, response.body);
}

void Store::record_after(const Held& held, const http::Response& response) {
  if (response.status >= 500) release(held);  // an outage is not an answer to remember
  else database_.transaction([&](db::Connection& c) { record(c, held, response); });
}

void Store::release(const Held& held) {
  try {
    database_.transaction([&](db::Connection& c) { c.query(kRelease, held.user, held.key); });
  } catch (const std::exception& e) {
    spdlog::error("could not release idempotency key after a failure: {}", e.what());
  }
}

std::int64_t Store::purge(std::int64_t now_micros) {
  auto cutoff = now_micros - std::chrono::duration_cast<std::chrono::microseconds>(settings_.keep).count();
  return database_.transaction([&](db::Connection& c) { return c.query(kPurge, cutoff).affected_rows; });
}

}  // namespace idempotency
