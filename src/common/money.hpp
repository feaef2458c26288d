#pragma once
// Money as the contract wants it: integer minor units (cents), parsed exactly from the JSON number's
// source text or a decimal string, written as a two-place decimal string ("130.00"). No binary
// floating point exists anywhere on the way in or out.

#include <boost/json/value.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace common {

class Money {
 public:
  // The largest amount the service accepts: 100 billion minor units (one billion in major units), so
  // that 100 order lines of 10,000 units each stay far inside int64.
  static constexpr std::int64_t kMaxMinor = 100'000'000'000;

  constexpr Money() = default;
  static constexpr Money from_minor(std::int64_t minor) { return Money(minor); }

  // "130", "130.5", "130.00": at most two decimals, no sign, no exponent, no spaces. nullopt when
  // the text is not such a number or exceeds kMaxMinor.
  static std::optional<Money> parse(std::string_view text);

  constexpr std::int64_t minor() const { return minor_; }
  std::string to_string() const;  // "130.00", "0.30"

  // Throws std::overflow_error past kMaxMinor times 1,000,000 (order totals stay far below).
  Money times(std::int64_t quantity) const;
  Money& operator+=(Money other);

  friend constexpr auto operator<=>(Money, Money) = default;

 private:
  constexpr explicit Money(std::int64_t minor) : minor_(minor) {}
  std::int64_t minor_ = 0;
};

// Reads a money field from a request body parsed by common::parse_json: a JSON integer (130), a
// non-integer JSON number kept as its exact text ("130.50" in the parsed tree), or a decimal string.
// Returns nullopt with `error` set to a DRF-style message when the value is not an amount.
std::optional<Money> money_from_json(const boost::json::value& value, std::string& error);

}  // namespace common
