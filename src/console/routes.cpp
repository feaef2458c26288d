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

http::Response asset(http::Request& request) { return http::hashed_asset(assets(), request.path_param("file")); }

}  // namespace

// The page and its files stay here rather than in admin/routes.cpp's table of the /admin API: they
// are static memory served without authentication (the page signs in through the API), and they
// share nothing with the staff API's handlers but the prefix.
void register_routes(http::Router& router) {
  using http::Access;
  using http::Runs;
  router.add(http::get("/admin/", Access::anyone, page).runs(Runs::io_thread));
  router.add(http::get("/admin/assets/{file}", Access::anyone, asset).runs(Runs::io_thread));
}

}  // namespace console
