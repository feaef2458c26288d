#include "http/cors.hpp"

#include <boost/url/parse.hpp>

#include <stdexcept>

namespace http {
namespace {

constexpr std::string_view kAllowedHeaders = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
constexpr std::string_view kExposedHeaders = "X-Request-Id, Idempotent-Replayed, Retry-After, WWW-Authenticate";
constexpr std::string_view kPreflightCache = "600";  // seconds a browser may keep a preflight's answer

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What a browser sends as Origin: scheme://host[:port], lower case, no path.
void check_origin(std::string_view origin) {
  auto url = boost::urls::parse_absolute_uri(origin);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty() ||
      !url->encoded_path().empty() || url->has_query() || url->has_fragment() || url->has_userinfo()) {
    throw std::invalid_argument("'" + std::string(origin) +
                                "' is not an origin such as https://shop.example.com (scheme, host, port; no path)");
  }
  for (char c : origin) {
    if (c >= 'A' && c <= 'Z') throw std::invalid_argument("'" + std::string(origin) + "' must be in lower case");
  }
}

}  // namespace

CorsPolicy CorsPolicy::parse(std::string_view list) {
  CorsPolicy policy;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trimmed(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) throw std::invalid_argument("an empty origin in the list");
    if (item == "*") {
      policy.any_ = true;
      continue;
    }
    check_origin(item);
    policy.origins_.emplace_back(item);
  }
  return policy;
}

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_) return true;
  for (const auto& o : origins_) {
    if (o == origin) return true;
  }
  return false;
}

Response options_answer(const CorsPolicy& policy, const Request& request, std::string_view allow) {
  Response response;
  response.status = 204;
  auto methods = std::string(allow) + ", OPTIONS";
  response.headers.emplace_back("Allow", methods);
  if (policy.allows(request.origin) && !request.cors_request_method.empty()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", request.origin);
    response.headers.emplace_back("Access-Control-Allow-Methods", methods);
    response.headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowedHeaders));
    response.headers.emplace_back("Access-Control-Max-Age", std::string(kPreflightCache));
  }
  response.headers.emplace_back("Vary", "Origin");
  return response;
}

void add_cors_headers(const CorsPolicy& policy, const Request& request, Response& response) {
  if (!policy.allows(request.origin)) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", request.origin);
  response.headers.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  response.headers.emplace_back("Vary", "Origin");
}

}  // namespace http
