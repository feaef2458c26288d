#include "auth/pages.hpp"

#include "common/error.hpp"
#include "http/static_files.hpp"

#include <string>

namespace auth {
namespace {

// The pages carry a token in their address: never cached by anyone, and never sent on as a Referer
// (own_page's Referrer-Policy: no-referrer).
constexpr std::string_view kNoStore = "no-store";

// The page's script and style sheet are named relative to the page, so a proxy prefix works: from
// "/account/reset-password" they are "account.js", from "/account/reset-password/" "../account.js".
http::Response page(std::string_view file, const http::Request& request) {
  std::string html(account_page_file(file));
  if (html.empty()) throw common::Error("not_found", "Not found.");
  std::string_view base = request.path.ends_with('/') ? "../" : "";
  constexpr std::string_view kSlot = "{{base}}";
  for (auto at = html.find(kSlot); at != std::string::npos; at = html.find(kSlot, at + base.size())) {
    html.replace(at, kSlot.size(), base);
  }
  return http::own_page(std::move(html), kNoStore);
}

http::Response reset_page(http::Request& request) { return page("reset-password.html", request); }
http::Response verify_page(http::Request& request) { return page("verify-email.html", request); }

http::Response script(http::Request&) {
  return http::static_response("application/javascript; charset=utf-8", std::string(account_page_file("account.js")),
                               "no-cache");
}

http::Response style_sheet(http::Request&) {
  return http::static_response("text/css; charset=utf-8", std::string(account_page_file("account.css")), "no-cache");
}

}  // namespace

void register_page_routes(http::Router& router) {
  using http::Access;
  using http::Runs;
  router.add(http::get("/account/reset-password", Access::anyone, reset_page).runs(Runs::io_thread));
  router.add(http::get("/account/verify-email", Access::anyone, verify_page).runs(Runs::io_thread));
  router.add(http::get("/account/account.js", Access::anyone, script).runs(Runs::io_thread));
  router.add(http::get("/account/account.css", Access::anyone, style_sheet).runs(Runs::io_thread));
}

}  // namespace auth
