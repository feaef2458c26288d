#pragma once
// The shop's currency (the `currency` setting, ISO 4217) and how money and times are written for
// people: "$1,234.50", "1.234,50 €", "£130.00", "¥130", and "1 December 2026, 15:07 UTC". The API
// keeps its own forms ("130.00", RFC 3339); these are for emails and the staff console only.
//
// The table of currencies (kCurrencies in currency.cpp) is the one place that knows each code's
// symbol, where it goes and its separators; a code it does not hold is refused at start-up, so a shop
// never shows a price in a form nobody chose. To support another currency, add its row there (and to
// docs/configuration's list in README.md). Amounts are common::Money (two decimals), so currencies
// with three decimals (KWD, BHD...) cannot be represented and are not in the table.

#include "common/money.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace common {

struct Currency {
  std::string_view code;    // ISO 4217, upper case: "USD"
  int decimals = 2;         // digits after the separator in the usual form: 2, or 0 for JPY and KRW
  std::string_view symbol;  // "$", "€", "CHF"
  bool symbol_after = false;  // "130,00 €" rather than "€130.00"
  bool spaced = false;        // a space between the symbol and the number ("CHF 130.00", "130,00 €")
  char decimal_mark = '.';
  std::string_view group_mark = ",";  // between thousands; may be a space

  // The amount as people read it in this currency. A zero-decimal currency shows whole amounts
  // without decimals ("¥1,300"); an amount with a fraction keeps it ("¥130.50"): money is never rounded.
  std::string format(Money amount) const;

  // What the payment gateway is sent: the lower-case code ("usd", as Stripe writes it) and the amount
  // in the currency's own minor units (cents for USD, yen for JPY). nullopt when the amount cannot be
  // written in them (a fraction of a yen).
  std::string gateway_code() const;
  std::optional<std::int64_t> gateway_amount(Money amount) const;
  // The same for an amount a request asked for: 400 validation_error on `field` when it cannot be sent.
  std::int64_t gateway_amount_of(Money amount, std::string_view field = "amount") const;
  // Why an amount gateway_amount() cannot write is refused: "Must be a whole amount of JPY."
  std::string whole_amount_message() const;

  // The currency of an ISO 4217 code (any case), or nullptr when the table does not hold it.
  static const Currency* find(std::string_view code);
  // Every supported currency, in the table's order (for messages and documentation).
  static std::span<const Currency> all();
};

// "1 December 2026, 15:07 UTC": a stored time (microseconds since the epoch, UTC) for people.
std::string format_for_people(std::int64_t micros);
// The same from an RFC 3339 text as the API writes it ("2026-12-01T15:07:00.123456Z"); nullopt when the
// text is not one (a context written by hand, say).
std::optional<std::string> format_for_people(std::string_view rfc3339);

}  // namespace common
