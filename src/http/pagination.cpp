#include "http/pagination.hpp"

#include "common/error.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

namespace http {
namespace {

// A positive whole number; digits beyond int64 count as the largest (DRF's integers have no limit, so
// ?page_size=99999999999999999999 is capped at the maximum there, not ignored).
std::optional<std::int64_t> positive(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || end != text.data() + text.size() || text.front() == '-') return std::nullopt;
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::int64_t>::max();
  if (ec != std::errc{} || n < 1) return std::nullopt;
  return n;
}

[[noreturn]] void invalid_page() { throw common::Error("not_found", "Invalid page."); }

// The request's own URL with ?page set to `page` (or removed, for page 1 as DRF does).
boost::json::value link(const Request& request, std::int64_t page) {
  // The base may carry a path of its own (a proxy serving the API under /api).
  boost::urls::url url;
  std::string_view prefix;
  if (auto base = boost::urls::parse_absolute_uri(request.base_url)) {
    url = *base;
    prefix = base->encoded_path();
    if (prefix.ends_with('/')) prefix.remove_suffix(1);
  }
  url.set_encoded_path(std::string(prefix) + request.path);
  // The query is encoded here, not by url.params().append: Boost.URL 1.81 leaves '[' and ']' of a
  // value as they are, and the link is then no URL a client can parse (the router fuzz target's find).
  std::string query;
  auto add = [&query](std::string_view key, std::string_view value) {
    if (!query.empty()) query += '&';
    query += boost::urls::encode(key, boost::urls::unreserved_chars);
    query += '=';
    query += boost::urls::encode(value, boost::urls::unreserved_chars);
  };
  for (const auto& [key, value] : request.query) {
    if (key != "page") add(key, value);
  }
  if (page > 1) add("page", std::to_string(page));
  if (!query.empty()) url.set_encoded_query(query);
  return boost::json::value(url.buffer());
}

}  // namespace

Page::Page(const Request& request) : request_(request) {
  if (auto size = request.query_param("page_size")) {
    if (auto n = positive(*size)) size_ = std::min(*n, kMaxSize);
  }
  if (auto page = request.query_param("page")) {
    if (*page == "last") last_ = true;
    else if (auto n = positive(*page)) number_ = *n;
    else invalid_page();
  }
}

std::int64_t Page::offset(std::int64_t count) {
  auto pages = std::max<std::int64_t>(1, (count + size_ - 1) / size_);
  if (last_) number_ = pages;
  if (number_ > pages) invalid_page();
  return (number_ - 1) * size_;
}

boost::json::object Page::body(std::int64_t count, boost::json::array results) const {
  bool has_next = number_ * size_ < count;
  return {{"count", count},
          {"next", has_next ? link(request_, number_ + 1) : nullptr},
          {"previous", number_ > 1 ? link(request_, number_ - 1) : nullptr},
          {"results", std::move(results)}};
}

}  // namespace http
