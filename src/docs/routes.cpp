#include "docs/routes.hpp"

#include "docs/embedded.hpp"
#include "http/router.hpp"

#include <string>

namespace docs {
namespace {

// The spec and the page change only with a new binary: a short cache keeps a deploy visible soon.
constexpr std::string_view kShortCache = "public, max-age=300";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Links in the page are relative, so it also works behind a proxy that serves the API under a
// prefix: from "/docs" the assets are "docs/x" and the spec "openapi.json"; from "/docs/" they
// are "x" and "../openapi.json".
std::string page(const http::Request& request) {
  bool slash = request.path.ends_with('/');
  std::string html(index_html());
  replace_all(html, "{{base}}", slash ? "" : "docs/");
  replace_all(html, "{{spec}}", slash ? "../openapi.json" : "openapi.json");
  return html;
}

http::Response spec(http::Request&) {
  return http::static_response("application/json; charset=utf-8", std::string(openapi_json()), kShortCache);
}

http::Response docs_page(http::Request& request) { return http::own_page(page(request), kShortCache); }

http::Response asset(http::Request& request) { return http::hashed_asset(assets(), request.path_param("file")); }

}  // namespace

// Static memory only: every route runs on the I/O thread and needs no authentication.
void register_routes(http::Router& router) {
  using http::Access;
  using http::Runs;
  router.add(http::get("/openapi.json", Access::anyone, spec).runs(Runs::io_thread));
  router.add(http::get("/docs", Access::anyone, docs_page).runs(Runs::io_thread));
  router.add(http::get("/docs/{file}", Access::anyone, asset).runs(Runs::io_thread));
}

}  // namespace docs
