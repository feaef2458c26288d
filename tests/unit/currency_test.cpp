// Money and times as people read them (common/currency.*): the shop currency's usual form, its code
// and minor units for the gateway, and dates written out.

#include "common/currency.hpp"

#include <gtest/gtest.h>

using common::Currency;
using common::Money;

namespace {

std::string shown(std::string_view code, std::string_view amount) {
  return Currency::find(code)->format(*Money::parse(amount));
}

}  // namespace

TEST(Currency, EachCurrencyInItsUsualForm) {
  EXPECT_EQ(shown("USD", "130.00"), "$130.00");
  EXPECT_EQ(shown("EUR", "130.00"), "130,00 €");
  EXPECT_EQ(shown("GBP", "130.00"), "£130.00");
  EXPECT_EQ(shown("JPY", "130.00"), "¥130");
  EXPECT_EQ(shown("CHF", "130.50"), "CHF 130.50");
  EXPECT_EQ(shown("SEK", "130.50"), "130,50 kr");
  EXPECT_EQ(shown("BRL", "0.30"), "R$ 0,30");
  EXPECT_EQ(shown("KRW", "5000"), "₩5,000");
}

TEST(Currency, ThousandsAreGroupedByTheCurrencysMark) {
  EXPECT_EQ(shown("USD", "1234567.89"), "$1,234,567.89");
  EXPECT_EQ(shown("EUR", "1234.5"), "1.234,50 €");
  EXPECT_EQ(shown("CHF", "1234"), "CHF 1'234.00");
  EXPECT_EQ(shown("PLN", "1234"), "1 234,00 zł");
  EXPECT_EQ(shown("JPY", "1300"), "¥1,300");
  EXPECT_EQ(shown("USD", "999.99"), "$999.99");
  EXPECT_EQ(shown("USD", "1000"), "$1,000.00");
  EXPECT_EQ(shown("USD", "0"), "$0.00");
  EXPECT_EQ(shown("USD", "1000000000"), "$1,000,000,000.00");
}

TEST(Currency, AZeroDecimalCurrencyNeverRoundsAFractionAway) {
  EXPECT_EQ(shown("JPY", "130.50"), "¥130.50");
  EXPECT_EQ(Currency::find("JPY")->gateway_amount(*Money::parse("130.50")), std::nullopt);
}

TEST(Currency, TheGatewayGetsTheLowerCaseCodeAndTheCurrencysMinorUnits) {
  EXPECT_EQ(Currency::find("USD")->gateway_code(), "usd");
  EXPECT_EQ(Currency::find("USD")->gateway_amount(*Money::parse("130.00")), 13000);
  EXPECT_EQ(Currency::find("EUR")->gateway_amount(*Money::parse("0.05")), 5);
  EXPECT_EQ(Currency::find("JPY")->gateway_code(), "jpy");
  EXPECT_EQ(Currency::find("JPY")->gateway_amount(*Money::parse("1300")), 1300);
}

TEST(Currency, CodesAreFoundInAnyCaseAndUnknownOnesAreNot) {
  EXPECT_EQ(Currency::find("eur"), Currency::find("EUR"));
  EXPECT_EQ(Currency::find("Gbp")->code, "GBP");
  for (const char* unknown : {"", "US", "USDD", "XXX", "KWD", "usd ", "€"}) {
    EXPECT_EQ(Currency::find(unknown), nullptr) << unknown;
  }
  for (const auto& c : Currency::all()) {
    EXPECT_EQ(Currency::find(c.code), &c);
    EXPECT_TRUE(c.decimals == 0 || c.decimals == 2) << c.code;  // what common::Money can hold
  }
}

TEST(PeopleDates, WrittenOutInUtcToTheMinute) {
  EXPECT_EQ(common::format_for_people(std::int64_t{0}), "1 January 1970, 00:00 UTC");
  // 2026-12-01T15:07:59.999999Z: minutes are not rounded up.
  EXPECT_EQ(common::format_for_people(std::int64_t{1'796'137'679'999'999}), "1 December 2026, 15:07 UTC");
  EXPECT_EQ(common::format_for_people(std::string_view("2024-05-04T12:00:00.123456Z")), "4 May 2024, 12:00 UTC");
  EXPECT_EQ(common::format_for_people(std::string_view("2024-02-29T23:59:00Z")), "29 February 2024, 23:59 UTC");
  // An offset is turned into UTC.
  EXPECT_EQ(common::format_for_people(std::string_view("2024-05-04T01:30:00+02:00")), "3 May 2024, 23:30 UTC");
}

TEST(PeopleDates, TextThatIsNotATimeIsRefused) {
  for (const char* bad : {"", "yesterday", "2024-05-04", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
                          "2024-05-04T12:00:00", "2024-05-04T25:00:00Z", "2024-05-04T12:00:00+2:00"}) {
    EXPECT_EQ(common::format_for_people(std::string_view(bad)), std::nullopt) << bad;
  }
}
