#include "common/currency.hpp"

#include "common/error.hpp"

#include <array>
#include <chrono>
#include <fmt/format.h>

namespace common {
namespace {

// Each currency's usual form in the country that uses it, with the symbol CLDR's English data gives
// where a bare "$" or "¥" would be ambiguous (CA$, A$, CN¥). Separators are plain ASCII (a space,
// not U+202F) so that what a test or a grep looks for is what it sees. India's lakh grouping is not
// modelled: INR groups by thousands.
constexpr std::array kCurrencies = {
    Currency{.code = "USD", .symbol = "$"},
    Currency{.code = "EUR", .symbol = "€", .symbol_after = true, .spaced = true, .decimal_mark = ',', .group_mark = "."},
    Currency{.code = "GBP", .symbol = "£"},
    Currency{.code = "JPY", .decimals = 0, .symbol = "¥"},
    Currency{.code = "CHF", .symbol = "CHF", .spaced = true, .group_mark = "'"},
    Currency{.code = "CAD", .symbol = "CA$"},
    Currency{.code = "AUD", .symbol = "A$"},
    Currency{.code = "NZD", .symbol = "NZ$"},
    Currency{.code = "HKD", .symbol = "HK$"},
    Currency{.code = "SGD", .symbol = "S$"},
    Currency{.code = "MXN", .symbol = "MX$"},
    Currency{.code = "CNY", .symbol = "CN¥"},
    Currency{.code = "INR", .symbol = "₹"},
    Currency{.code = "KRW", .decimals = 0, .symbol = "₩"},
    Currency{.code = "BRL", .symbol = "R$", .spaced = true, .decimal_mark = ',', .group_mark = "."},
    Currency{.code = "SEK", .symbol = "kr", .symbol_after = true, .spaced = true, .decimal_mark = ',', .group_mark = " "},
    Currency{.code = "NOK", .symbol = "kr", .symbol_after = true, .spaced = true, .decimal_mark = ',', .group_mark = " "},
    Currency{.code = "DKK", .symbol = "kr.", .symbol_after = true, .spaced = true, .decimal_mark = ',', .group_mark = "."},
    Currency{.code = "PLN", .symbol = "zł", .symbol_after = true, .spaced = true, .decimal_mark = ',', .group_mark = " "},
    Currency{.code = "CZK", .symbol = "Kč", .symbol_after = true, .spaced = true, .decimal_mark = ',', .group_mark = " "},
};

std::string grouped(std::int64_t units, std::string_view mark) {
  auto digits = std::to_string(units);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += mark;
    out += digits[i];
  }
  return out;
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

constexpr std::array<std::string_view, 12> kMonths = {"January", "February", "March",     "April",   "May",      "June",
                                                      "July",    "August",   "September", "October", "November", "December"};

// Reads `n` digits at `pos` of `s`; -1 when they are not there.
int digits_at(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// The zone of an RFC 3339 time ("Z", "+01:00"; after the seconds and their fraction) as minutes east
// of UTC; nullopt when malformed.
std::optional<int> zone_minutes(std::string_view zone) {
  if (zone == "Z" || zone == "z") return 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return std::nullopt;
  int h = digits_at(zone, 1, 2), m = digits_at(zone, 4, 2);
  if (h < 0 || m < 0 || h > 23 || m > 59) return std::nullopt;
  return (zone[0] == '-' ? -1 : 1) * (h * 60 + m);
}

}  // namespace

std::string Currency::format(Money amount) const {
  auto minor = amount.minor();
  bool negative = minor < 0;
  if (negative) minor = -minor;
  auto number = grouped(minor / 100, group_mark);
  auto cents = minor % 100;
  if (decimals > 0 || cents != 0) number += fmt::format("{}{:02}", decimal_mark, cents);
  std::string space = spaced ? " " : "";
  auto shown = symbol_after ? number + space + std::string(symbol) : std::string(symbol) + space + number;
  return negative ? "-" + shown : shown;
}

std::string Currency::gateway_code() const {
  std::string out;
  for (char c : code) out += static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::int64_t> Currency::gateway_amount(Money amount) const {
  if (decimals == 2) return amount.minor();
  if (amount.minor() % 100 != 0) return std::nullopt;
  return amount.minor() / 100;
}

std::string Currency::whole_amount_message() const { return "Must be a whole amount of " + std::string(code) + "."; }

std::int64_t Currency::gateway_amount_of(Money amount, std::string_view field) const {
  auto minor = gateway_amount(amount);
  if (!minor) {
    FieldErrors errors;
    errors.add(std::string(field), whole_amount_message());
    errors.raise_if_any();
  }
  return *minor;
}

const Currency* Currency::find(std::string_view code) {
  if (code.size() != 3) return nullptr;
  for (const auto& c : kCurrencies) {
    if (upper(code[0]) == c.code[0] && upper(code[1]) == c.code[1] && upper(code[2]) == c.code[2]) return &c;
  }
  return nullptr;
}

std::span<const Currency> Currency::all() { return kCurrencies; }

std::string format_for_people(std::int64_t micros) {
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds{micros}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<minutes>(t - day)};
  return fmt::format("{} {} {}, {:02}:{:02} UTC", static_cast<unsigned>(ymd.day()),
                     kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                     hms.hours().count(), hms.minutes().count());
}

std::optional<std::string> format_for_people(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then the zone.
  int y = digits_at(text, 0, 4), mo = digits_at(text, 5, 2), d = digits_at(text, 8, 2);
  int h = digits_at(text, 11, 2), mi = digits_at(text, 14, 2), s = digits_at(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::size_t end = 19;
  if (end < text.size() && text[end] == '.') {
    ++end;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  }
  auto zone = zone_minutes(text.substr(end));
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!zone || !ymd.ok()) return std::nullopt;
  auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} - minutes{*zone};
  return format_for_people(duration_cast<microseconds>(t.time_since_epoch()).count());
}

}  // namespace common
