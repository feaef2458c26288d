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

Response hashed_asset(std::span<const StaticAsset> assets, std::string_view name) {
  for (const auto& asset : assets) {
    if (asset.name == name) {
      return static_response(asset.content_type, std::string(asset.body), "public, max-age=31536000, immutable");
    }
  }
  throw common::Error("not_found", "Not found.");
}

}  // namespace http
