#pragma once
// Cross-origin requests from a shop's own pages (CORS, the Fetch standard): which origins may call
// the API from a browser, the answer to a preflight, and the headers of an answer such a page reads.
// Tokens travel in the Authorization header, never in cookies, so credentials are never allowed.

#include "http/message.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace http {

class CorsPolicy {
 public:
  CorsPolicy() = default;
  // "https://shop.example.com, https://m.shop.example.com" (scheme, host and port, nothing more), or
  // "*" for any origin; empty: none. Throws std::invalid_argument naming what is wrong.
  static CorsPolicy parse(std::string_view list);

  bool allows(std::string_view origin) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

// OPTIONS on a path whose methods are `allow` ("GET, HEAD, POST"): 204 with Allow, and for an allowed
// origin's preflight what it may send.
Response options_answer(const CorsPolicy& policy, const Request& request, std::string_view allow);

// An answer to a page of an allowed origin: which origin may read it and which headers it may see.
void add_cors_headers(const CorsPolicy& policy, const Request& request, Response& response);

}  // namespace http
