#include "common/money.hpp"

#include <charconv>
#include <limits>
#include <stdexcept>

namespace common {

std::optional<Money> Money::parse(std::string_view text) {
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 12) return std::nullopt;  // 12 digits: already past kMaxMinor
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 2)) return std::nullopt;
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (!digits(whole) || !digits(fraction)) return std::nullopt;

  std::int64_t units = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), units);
  std::int64_t cents = 0;
  for (std::size_t i = 0; i < 2; ++i) cents = cents * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  auto minor = units * 100 + cents;
  if (minor > kMaxMinor) return std::nullopt;
  return Money(minor);
}

std::string Money::to_string() const {
  auto units = std::to_string(minor_ / 100);
  auto cents = minor_ % 100;
  if (minor_ < 0) {
    units = "-" + std::to_string(-(minor_ / 100));
    cents = -cents;
  }
  return units + (cents < 10 ? ".0" : ".") + std::to_string(cents);
}

Money Money::times(std::int64_t quantity) const {
  if (quantity < 0 || quantity > 1'000'000 || minor_ > kMaxMinor) throw std::overflow_error("money overflow");
  return Money(minor_ * quantity);
}

Money& Money::operator+=(Money other) {
  if (other.minor_ > 0 && minor_ > std::numeric_limits<std::int64_t>::max() - other.minor_) {
    throw std::overflow_error("money overflow");
  }
  minor_ += other.minor_;
  return *this;
}

std::optional<Money> money_from_json(const boost::json::value& value, std::string& error) {
  if (value.is_int64() || value.is_uint64()) {
    if (value.is_int64() && value.get_int64() < 0) {
      error = "Ensure this value is greater than or equal to 0.";
      return std::nullopt;
    }
    if (value.is_int64() && value.get_int64() <= Money::kMaxMinor / 100) {
      return Money::from_minor(value.get_int64() * 100);
    }
    error = "Ensure this value is less than or equal to 1000000000.00.";
    return std::nullopt;
  }
  if (!value.is_string()) {
    error = "A valid number is required.";
    return std::nullopt;
  }
  std::string_view text = value.get_string();
  if (text.starts_with('-')) {
    error = "Ensure this value is greater than or equal to 0.";
    return std::nullopt;
  }
  if (auto money = Money::parse(text)) return money;
  // Tell the client which rule failed: the shape of a decimal number, its places, or its size.
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  bool decimal = !whole.empty() && whole.find_first_not_of("0123456789") == std::string_view::npos &&
                 (dot == std::string_view::npos ||
                  (!fraction.empty() && fraction.find_first_not_of("0123456789") == std::string_view::npos));
  if (!decimal) error = "A valid number is required.";
  else if (fraction.size() > 2) error = "Ensure that there are no more than 2 decimal places.";
  else error = "Ensure this value is less than or equal to 1000000000.00.";
  return std::nullopt;
}

}  // namespace common
