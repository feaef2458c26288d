#pragma once
// Webhook POSTs: libcurl (already linked for SMTP) with the system's CA store for https, a deadline
// over the whole exchange, no redirects, no proxy, and the answer read up to 64 KiB. Unless
// allow_private, every address libcurl is about to connect to is checked first (webhooks/address.hpp):
// the check is on the connecting socket's address, after DNS, so no second lookup can differ from it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace webhooks {

struct Post {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct PostResult {
  int status = 0;                // the HTTP status; 0 when there was no answer
  std::string answer;            // the answer's first bytes as valid UTF-8 (at most kAnswerKept)
  std::string error;             // why there was no answer, or why it was cut short; "" when it came whole
  bool complete = false;         // the answer came whole (or up to kAnswerRead, where reading stops)
  std::chrono::milliseconds latency{0};
  std::optional<std::chrono::seconds> retry_after;  // the answer's Retry-After (seconds or a date), from now
  bool refused = false;          // the address was refused (SSRF): nothing was sent
};

inline constexpr std::size_t kAnswerRead = 64 * 1024;  // read at most this much of an answer ...
inline constexpr std::size_t kAnswerKept = 1024;       // ... and keep this much for staff to see

struct SenderSlot;  // sender.cpp's: an easy handle and the post it carries

// Given by the caller in full (the webhook worker's constants and settings hold the numbers).
struct SendLimits {
  std::size_t in_flight;               // posts open at once
  std::size_t per_target;              // of those, to one target (a webhook endpoint)
  std::chrono::milliseconds timeout;   // one post, connecting included
  bool allow_private;                  // no address check (development and tests)
};

// Posts several at once from one thread (libcurl's multi interface), keeping the connections to
// receivers open between posts: a receiver that keeps its connection alive is not paid a new TCP (and
// TLS) handshake per delivery. A kept connection goes to an address that was checked when it was
// opened. One slow or hanging target holds at most `per_target` of the `in_flight` slots, so the
// others' posts go on meanwhile.
class Sender {
 public:
  // Gives post i just before it is sent, or nothing to leave it unsent.
  using Make = std::function<std::optional<Post>(std::size_t i)>;

  Sender();
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Sends posts 0 .. targets.size()-1, where targets[i] names post i's target: started in that order
  // as far as the limits allow (a post whose target is full waits, the next ones may start). Returns
  // each post's result, nothing for those `make` left unsent. Returns once every started post is over.
  std::vector<std::optional<PostResult>> post_all(std::span<const std::int64_t> targets, const Make& make,
                                                  const SendLimits& limits);

 private:
  struct Run;
  void* multi_;  // CURLM*, kept out of this header
  std::vector<std::unique_ptr<SenderSlot>> slots_;  // easy handles, reused: at most in_flight of them
};

}  // namespace webhooks
