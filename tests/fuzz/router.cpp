// The router and the query side of a request: a fuzzed method and request target go through the
// same steps as in http/server.cpp (Boost.URL origin-form parse, decoded query parameters), then
// Router::match over the service's real route table, Request::id_param, and the DRF pagination
// (?page, ?page_size, the next/previous links).
// Invariants: nothing throws but common::Error not_found; a match fills exactly the route's {name}
// parameters with non-empty values; a trailing slash never changes the match; a 405 names methods;
// page sizes stay within 1..100, offsets within the list, and every link is an absolute URL that
// keeps the path.

#include "common/error.hpp"
#include "fuzz.hpp"
#include "http/pagination.hpp"
#include "http/router.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>

namespace {

using http::Method;

// The route table of `orderd serve` and `orderd mock-gateway` (method, pattern); handlers do not matter here.
const http::Router& router() {
  static const http::Router instance = [] {
    http::Router r;
    const std::pair<Method, const char*> table[] = {
        {Method::get, "/healthz"},
        {Method::get, "/readyz"},
        {Method::get, "/metrics"},
        {Method::get, "/openapi.json"},
        {Method::get, "/docs"},
        {Method::get, "/docs/{file}"},
        {Method::post, "/register/"},
        {Method::post, "/login/"},
        {Method::post, "/token/refresh/"},
        {Method::post, "/logout/"},
        {Method::get, "/user/"},
        {Method::get, "/store/products/"},
        {Method::post, "/store/products/"},
        {Method::get, "/store/products/{id}/"},
        {Method::put, "/store/products/{id}/"},
        {Method::patch, "/store/products/{id}/"},
        {Method::del, "/store/products/{id}/"},
        {Method::post, "/store/place_order/"},
        {Method::get, "/store/orders/"},
        {Method::get, "/store/orders/{id}/"},
        {Method::post, "/store/orders/{id}/cancel/"},
        {Method::get, "/admin/orders/"},
        {Method::post, "/store/make_payment/"},
        {Method::get, "/admin/emails/"},
        {Method::post, "/admin/emails/{id}/resend/"},
        {Method::post, "/v1/charges"},
        {Method::get, "/v1/charges/{idempotency_key}"},
    };
    for (const auto& [method, path] : table) {
      r.add({.method = method, .path = path, .handler = [](http::Request&) { return http::no_content(); }});
    }
    return r;
  }();
  return instance;
}

std::size_t parameter_count(std::string_view pattern) { return static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '{')); }

void check_link(const boost::json::value& link, const http::Request& request, std::string_view prefix) {
  if (link.is_null()) return;
  FUZZ_CHECK(link.is_string());
  auto url = boost::urls::parse_absolute_uri(link.get_string());
  FUZZ_CHECK(url.has_value());
  // Boost.URL writes a path that begins with "//" as "/.//" (the same path once dot segments go).
  auto expected = std::string(prefix) + request.path;
  FUZZ_CHECK(url->encoded_path() == expected || url->encoded_path() == "/." + expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  auto method = static_cast<Method>(data[0] % 8);
  std::int64_t count = data[1] | (data[2] << 8) | (static_cast<std::int64_t>(data[3] & 0x3f) << 16);
  auto target = fuzz::as_text(data + 4, size - 4);

  http::Request request;
  request.method = method;
  request.request_id = "fuzz";
  auto url = boost::urls::parse_origin_form(target);
  if (url) {
    request.path = std::string(url->encoded_path());
    for (auto param : url->params()) request.query.emplace_back(param.key, param.value);
  } else {
    request.path = "\x01";
  }

  const auto& r = router();
  http::Params params;
  auto match = r.match(method, request.path, params);
  if (match.route) {
    // HEAD is served by the path's GET route.
    FUZZ_CHECK(match.route->method == method || (method == Method::head && match.route->method == Method::get));
    FUZZ_CHECK(params.size() == parameter_count(match.route->path));
    for (const auto& [name, value] : params) FUZZ_CHECK(!name.empty() && !value.empty());
    if (!request.path.ends_with('/')) {
      http::Params again;
      FUZZ_CHECK(r.match(method, request.path + "/", again).route == match.route);
    }
    request.path_params = params;
    for (const auto& [name, value] : params) {
      try {
        FUZZ_CHECK(request.id_param(name) > 0);
      } catch (const common::Error& e) {
        FUZZ_CHECK(std::string_view(e.code()) == "not_found");
      }
    }
  } else if (!match.allow.empty()) {
    FUZZ_CHECK(match.allow.find(std::string(http::to_string(method))) == std::string::npos);
  }

  // Pagination runs only in a matched route, so only for a target that parsed.
  if (!url) return 0;
  for (const char* base : {"http://127.0.0.1:8000", "https://shop.example/api/"}) {
    request.base_url = base;
    std::string_view prefix = std::string_view(base).starts_with("https") ? "/api" : "";
    try {
      http::Page page(request);
      FUZZ_CHECK(page.size() >= 1 && page.size() <= http::Page::kMaxSize);
      auto offset = page.offset(count);
      FUZZ_CHECK(offset >= 0 && (offset < count || offset == 0));
      auto body = page.body(count, {});
      FUZZ_CHECK(body.at("count").as_int64() == count);
      check_link(body.at("next"), request, prefix);
      check_link(body.at("previous"), request, prefix);
    } catch (const common::Error& e) {
      // A page past the end or not a number: 404, as DRF; a parameter that is not UTF-8 text: 400.
      std::string_view code = e.code();
      FUZZ_CHECK(code == "not_found" || code == "validation_error");
    }
  }
  return 0;
}
