#pragma once
// Webhook POSTs: libcurl (already linked for SMTP) with the system's CA store for https, a deadline
// over the whole exchange, no redirects, no proxy, and the answer read up to 64 KiB. Unless
// allow_private, every address libcurl is about to connect to is checked first (webhooks/address.hpp):
// the check is on the connecting socket's address, after DNS, so no second lookup can differ from it.

#include <chrono>
#include <optional>
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
  std::string answer;            // the answer's first bytes (at most kAnswerKept)
  std::string error;             // why there was no answer, or "" when there was one
  std::chrono::milliseconds latency{0};
  std::optional<std::chrono::seconds> retry_after;  // the answer's Retry-After, in seconds form
  bool refused = false;          // the address was refused (SSRF): nothing was sent
};

inline constexpr std::size_t kAnswerRead = 64 * 1024;  // read at most this much of an answer ...
inline constexpr std::size_t kAnswerKept = 1024;       // ... and keep this much for staff to see

// Posts one at a time (one thread), keeping libcurl's connections to receivers open between posts: a
// receiver that keeps its connection alive is not paid a new TCP (and TLS) handshake per delivery. A
// kept connection goes to an address that was checked when it was opened.
class Sender {
 public:
  Sender();
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  PostResult post(const Post& request, std::chrono::milliseconds timeout, bool allow_private);

 private:
  void* easy_;  // CURL*, kept out of this header
};

}  // namespace webhooks
