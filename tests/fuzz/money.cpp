// Money parsing: Money::parse on the raw text, money_from_json on the text as a JSON string and on
// the text as a JSON document (so integers and exact non-integers arrive as the parser gives them),
// and the arithmetic orders use.
// Invariants: an accepted amount is within 0..kMaxMinor, prints as a two-place decimal that parses
// back to itself, equals what the same text gives through JSON; a refusal always says why;
// arithmetic either stays exact or throws std::overflow_error, never wraps.

#include "common/json.hpp"
#include "common/money.hpp"
#include "fuzz.hpp"

#include <limits>
#include <optional>
#include <stdexcept>

namespace {

void check_amount(const common::Money& m) {
  FUZZ_CHECK(m.minor() >= 0 && m.minor() <= common::Money::kMaxMinor);
  auto text = m.to_string();
  auto dot = text.find('.');
  FUZZ_CHECK(dot != std::string::npos && text.size() - dot == 3);
  auto back = common::Money::parse(text);
  FUZZ_CHECK(back && *back == m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);

  auto parsed = common::Money::parse(text);
  if (parsed) check_amount(*parsed);

  std::string error;
  auto as_string = common::money_from_json(boost::json::value(boost::json::string_view(text.data(), text.size())), error);
  FUZZ_CHECK(as_string.has_value() == parsed.has_value());
  if (as_string) FUZZ_CHECK(*as_string == *parsed);
  else FUZZ_CHECK(!error.empty());

  boost::system::error_code ec;
  auto json = common::parse_json(text, ec);
  if (!ec) {
    std::string json_error;
    auto from_json = common::money_from_json(json, json_error);
    if (from_json) check_amount(*from_json);
    else FUZZ_CHECK(!json_error.empty());
  }

  // Arithmetic as an order uses it: a price times a quantity, summed over lines.
  if (parsed) {
    std::int64_t quantity = static_cast<std::int64_t>(data[0]) * 4000 - 20'000;  // -20,000 .. 1,000,000
    std::optional<common::Money> line;
    try {
      line = parsed->times(quantity);
      FUZZ_CHECK(quantity >= 0 && line->minor() == parsed->minor() * quantity);
    } catch (const std::overflow_error&) {
      FUZZ_CHECK(quantity < 0 || quantity > 1'000'000);
    }
    if (line) {
      auto total = *line;
      bool overflowed = false;
      try {
        for (int i = 0; i < 100; ++i) total += *line;
      } catch (const std::overflow_error&) {
        overflowed = true;
      }
      bool too_big = line->minor() > std::numeric_limits<std::int64_t>::max() / 101;
      FUZZ_CHECK(overflowed == too_big);
      if (!overflowed) FUZZ_CHECK(total.minor() == line->minor() * 101);
    }
  }
  return 0;
}
