#include "console/routes.hpp"

#include "console/embedded.hpp"
#include "http/router.hpp"

#include <string>

namespace console {
namespace {

// The page is small and changes with every deploy: always revalidated (its assets are hashed_asset()s).
constexpr std::string_view kPageCache = "no-cache";
// The page loads only its own files and talks only to its own origin. Inline styles are allowed for
// the email preview (a sandboxed iframe without scripts, whose HTML templates use style attributes).
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Links are relative so the console also works behind a proxy that serves the API under a prefix:
// from "/admin" the assets are "admin/assets/x", from "/admin/" they are "assets/x".
http::Response page(const http::Request& request) {
  std::string html(index_html());
  std::string_view base = request.path.ends_with('/') ? "assets/" : "admin/assets/";
  for (auto at = html.find("{{base}}"); at != std::string::npos; at = html.find("{{base}}", at + base.size())) {
    html.replace(at, 8, base);
  }
  auto r = http::static_response("text/html; charset=utf-8", std::move(html), kPageCache);
  r.headers.emplace_back("Content-Security-Policy", std::string(kPolicy));
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

void register_routes(http::Router& router) {
  using http::Method;
  router.add({.method = Method::get,
              .path = "/admin/",
              .handler = [](http::Request& request) { return page(request); },
              .runs = http::Runs::io_thread});
  router.add({.method = Method::get,
              .path = "/admin/assets/{file}",
              .handler = [](http::Request& request) {
                return http::hashed_asset(assets(), request.path_param("file"));
              },
              .runs = http::Runs::io_thread});
}

}  // namespace console
