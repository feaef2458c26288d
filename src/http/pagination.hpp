#pragma once
// DRF's PageNumberPagination, as the contract describes it: ?page=N (1-based), ?page_size=M
// (default 10, at most 100), body {"count", "next", "previous", "results"} with absolute links.

#include "http/message.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string_view>

namespace http {

struct Page {
  std::int64_t number = 1;
  std::int64_t size = 10;
  std::int64_t offset() const { return (number - 1) * size; }
};

// Reads ?page and ?page_size as DRF does: a page that is not a positive integer is 404 not_found;
// a page_size that is not one falls back to the default, and one above the maximum is capped.
Page parse_page(const Request& request, std::int64_t default_size = 10, std::int64_t max_size = 100);

// The paginated body. Throws not_found for a page past the last one (page 1 of nothing is fine).
// Links are built from `public_url` (e.g. "https://shop.example/api") or, when empty, from the
// request's Host header; they keep the request's other query parameters.
boost::json::object page_body(const Request& request, const Page& page, std::int64_t count,
                              boost::json::array results, std::string_view public_url);

}  // namespace http
