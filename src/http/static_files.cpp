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

namespace {

// "console.css" for "console.3f2a1b4c5d6e.css": the name without its content's hash.
bool is_plain_name_of(std::string_view hashed, std::string_view name) {
  constexpr std::size_t kHash = 12;
  auto dot = hashed.rfind('.');
  if (dot == std::string_view::npos || dot < kHash + 1 || hashed[dot - kHash - 1] != '.') return false;
  auto stem = hashed.substr(0, dot - kHash - 1);
  auto extension = hashed.substr(dot);
  return name.size() == stem.size() + extension.size() && name.starts_with(stem) && name.ends_with(extension);
}

}  // namespace

Response hashed_asset(std::span<const StaticAsset> assets, std::string_view name) {
  for (const auto& asset : assets) {
    if (asset.name == name) {
      return static_response(asset.content_type, std::string(asset.body), "public, max-age=31536000, immutable");
    }
    if (is_plain_name_of(asset.name, name)) {
      return static_response(asset.content_type, std::string(asset.body), "no-cache");
    }
  }
  throw common::Error("not_found", "Not found.");
}

}  // namespace http
