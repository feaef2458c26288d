#include "http/static_files.hpp"

#include "common/error.hpp"

namespace http {

Response static_response(std::string_view content_type, std::string body, std::string_view cache_control) {
  Response r;
  r.content_type = std::string(content_type);
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", std::string(cache_control));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

namespace {

// Inline styles are allowed: the console's email preview (a sandboxed iframe without scripts, whose
// HTML templates use style attributes) and Swagger UI's components set style attributes.
constexpr std::string_view kOwnPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace

Response own_page(std::string html, std::string_view cache_control) {
  auto r = static_response("text/html; charset=utf-8", std::move(html), cache_control);
  r.headers.emplace_back("Content-Security-Policy", std::string(kOwnPagePolicy));
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

Response hashed_asset(std::span<const StaticAsset> assets, std::string_view name) {
  for (const auto& asset : assets) {
    if (asset.name == name) {
      return static_response(asset.content_type, std::string(asset.body), "public, max-age=31536000, immutable");
    }
  }
  throw common::Error("not_found", "Not found.");
}

}  // namespace http
