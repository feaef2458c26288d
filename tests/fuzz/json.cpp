// The exact-number JSON parser (common/json.cpp) and the product import file reader built on it.
// Invariants: parsing never throws; a parsed document serializes and parses back to the same value
// (non-integers were already kept as their text, so nothing is lost); no float is ever produced; the
// line-tracking variant agrees with the plain one.

#include "catalog/import.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "fuzz.hpp"

#include <boost/json/serialize.hpp>

#include <vector>

namespace {

bool has_double(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: return true;
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (has_double(e)) return true;
      }
      return false;
    case boost::json::kind::object:
      for (const auto& [k, e] : v.get_object()) {
        if (has_double(e)) return true;
      }
      return false;
    default: return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);
  boost::system::error_code ec;
  auto value = common::parse_json(text, ec);
  if (!ec) {
    FUZZ_CHECK(!has_double(value));
    auto again_text = boost::json::serialize(value);
    boost::system::error_code again_ec;
    auto again = common::parse_json(again_text, again_ec);
    FUZZ_CHECK(!again_ec);
    FUZZ_CHECK(again == value);
  }

  std::vector<int> lines;
  boost::system::error_code lines_ec;
  auto by_lines = common::parse_json_lines(text, lines_ec, lines);
  // Fed in pieces or at once, the same text is the same document (or fails in both).
  FUZZ_CHECK(!lines_ec == !ec);
  if (!ec) FUZZ_CHECK(by_lines == value);
  for (int line : lines) FUZZ_CHECK(line >= 1);
  // One line number per element of a top-level array: the import's messages name the right line.
  if (!lines_ec && by_lines.is_array()) FUZZ_CHECK(lines.size() == by_lines.get_array().size());

  for (auto format : {catalog::FileFormat::json, catalog::FileFormat::csv}) {
    try {
      auto file = catalog::parse_product_file(text, format);
      for (const auto& product : file.products) {
        FUZZ_CHECK(product.name && !product.name->empty());
        FUZZ_CHECK(product.price && product.price->minor() >= 0 &&
                   product.price->minor() <= common::Money::kMaxMinor);
        FUZZ_CHECK(product.stock && *product.stock >= 0);
      }
    } catch (const common::Error&) {
      // an unreadable file is a reported error, not a crash
    }
  }
  return 0;
}
