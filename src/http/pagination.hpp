#pragma once
// Page-number pagination exactly as DRF's PageNumberPagination: ?page=N (1-based, "last" allowed),
// ?page_size=M (default 10, at most 100; an invalid size falls back to the default), a body of
// {"count", "next", "previous", "results"} with absolute links, and 404 for a page past the end.

#include "http/message.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <limits>
#include <optional>

namespace http {

class Page {
 public:
  static constexpr std::int64_t kDefaultSize = 10;
  static constexpr std::int64_t kMaxSize = 100;

  // Reads ?page and ?page_size; a page that is not a positive integer (or "last") is 404 not_found.
  explicit Page(const Request& request);

  std::int64_t size() const { return size_; }
  // The rows to fetch for a list of `count` items; throws not_found past the last page (page 1 of
  // an empty list is fine).
  std::int64_t offset(std::int64_t count);
  // The offset when the request names its page by number, which needs no count (not ?page=last, nor
  // a page whose offset no int64 holds: past any list's end, which offset(count) answers with 404).
  std::optional<std::int64_t> named_offset() const {
    if (last_ || number_ - 1 > std::numeric_limits<std::int64_t>::max() / size_) return std::nullopt;
    return (number_ - 1) * size_;
  }

  // {"count", "next", "previous", "results"}; call after offset().
  boost::json::object body(std::int64_t count, boost::json::array results) const;

 private:
  const Request& request_;
  std::int64_t number_ = 1;
  bool last_ = false;
  std::int64_t size_ = kDefaultSize;
};

}  // namespace http
