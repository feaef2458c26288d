#include "http/pagination.hpp"

#include "common/error.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

namespace http {
namespace {

std::optional<std::int64_t> positive_integer(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 1) return std::nullopt;
  return n;
}

// The request's own URL with ?page set to `number` (removed for page 1, as DRF does).
std::string link(const Request& request, std::int64_t number, std::string_view public_url) {
  std::string base = public_url.empty() ? "http://" + (request.host.empty() ? std::string("localhost") : request.host)
                                        : std::string(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto parsed = boost::urls::parse_uri(base);
  if (!parsed) return {};
  boost::urls::url url = *parsed;
  std::string path = std::string(url.path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  url.set_path(path + request.path);
  auto params = url.params();
  for (const auto& [key, value] : request.query) {
    if (key != "page") params.append({key, value});
  }
  if (number > 1) params.append({"page", std::to_string(number)});
  return std::string(url.buffer());
}

}  // namespace

Page parse_page(const Request& request, std::int64_t default_size, std::int64_t max_size) {
  Page page;
  page.size = default_size;
  if (auto text = request.query_param("page_size")) {
    if (auto size = positive_integer(*text)) page.size = std::min(*size, max_size);
  }
  if (auto text = request.query_param("page")) {
    auto number = positive_integer(*text);
    // Also refuses pages so large that their offset would overflow.
    if (!number || *number > std::numeric_limits<std::int64_t>::max() / page.size) throw common::Error("not_found", "Invalid page.");
    page.number = *number;
  }
  return page;
}

boost::json::object page_body(const Request& request, const Page& page, std::int64_t count,
                              boost::json::array results, std::string_view public_url) {
  std::int64_t pages = count == 0 ? 1 : (count + page.size - 1) / page.size;
  if (page.number > pages) throw common::Error("not_found", "Invalid page.");
  auto url_or_null = [&](bool exists, std::int64_t number) -> boost::json::value {
    if (!exists) return nullptr;
    return boost::json::value(link(request, number, public_url));
  };
  return {{"count", count},
          {"next", url_or_null(page.number < pages, page.number + 1)},
          {"previous", url_or_null(page.number > 1, page.number - 1)},
          {"results", std::move(results)}};
}

}  // namespace http
