#include "console/routes.hpp"

#include "console/embedded.hpp"
#include "http/router.hpp"

#include <string>

namespace console {
namespace {

// The page is small and changes with every deploy: always revalidated (its assets are hashed_asset()s).
constexpr std::string_view kPageCache = "no-cache";

// Links are relative so the console also works behind a proxy that serves the API under a prefix:
// from "/admin" the assets are "admin/assets/x", from "/admin/" they are "assets/x".
http::Response page(const http::Request& request) {
  std::string html(index_html());
  std::string_view base = request.path.ends_with('/') ? "assets/" : "admin/assets/";
  for (auto at = html.find("{{base}}"); at != std::string::npos; at = html.find("{{base}}", at + base.size())) {
    html.replace(at, 8, base);
  }
  return http::own_page(std::move(html), kPageCache);
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
