// The exact-number JSON parser (common/json.cpp) and the product import file reader built on it.
// Invariants: parsing never throws; a parsed document serializes and parses back to the same value
// (non-integers were already kept as their text, so nothing is lost); no float is ever produced; the
// import's row-at-a-time reader agrees with the whole parse on where a top-level array's elements are.

#include "catalog/import.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "fuzz.hpp"

#include <boost/json/serialize.hpp>

#include <sstream>
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

  // The import's reader finds the elements of a top-level array by its own scan: wherever the whole
  // text is an array, it reads exactly that many rows, and a text that is not JSON (but for a UTF-8
  // byte-order mark, which a file may begin with) is never read as a file without problems.
  for (auto format : {catalog::FileFormat::json, catalog::FileFormat::csv}) {
    std::istringstream in{std::string(text)};
    auto reader = catalog::read_products(in, format, *common::Currency::find("USD"));
    std::vector<std::string> problems;
    catalog::ProductChange product;
    while (reader->next(product, problems)) {
      FUZZ_CHECK(product.name && !product.name->empty());
      FUZZ_CHECK(product.price && product.price->minor() >= 0 && product.price->minor() <= common::Money::kMaxMinor);
      FUZZ_CHECK(product.stock && *product.stock >= 0);
    }
    if (format != catalog::FileFormat::json) continue;
    if (!ec && value.is_array()) FUZZ_CHECK(reader->rows() == value.get_array().size());
    if (ec && !text.starts_with("\xEF\xBB\xBF")) FUZZ_CHECK(!problems.empty());  // a file may begin with a BOM
  }
  return 0;
}
