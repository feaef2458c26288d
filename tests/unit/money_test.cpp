#include "common/json.hpp"
#include "common/money.hpp"

#include <gtest/gtest.h>

using common::Money;

namespace {

std::optional<Money> from_json(std::string_view text, std::string* message = nullptr) {
  boost::system::error_code ec;
  auto value = common::parse_json(text, ec);
  EXPECT_FALSE(ec) << text;
  std::string error;
  auto money = common::money_from_json(value, error);
  if (message) *message = error;
  return money;
}

}  // namespace

TEST(Money, ParsesExactDecimalText) {
  EXPECT_EQ(Money::parse("130")->minor(), 13000);
  EXPECT_EQ(Money::parse("130.0")->minor(), 13000);
  EXPECT_EQ(Money::parse("130.00")->minor(), 13000);
  EXPECT_EQ(Money::parse("0.1")->minor(), 10);
  EXPECT_EQ(Money::parse("0.05")->minor(), 5);
  EXPECT_EQ(Money::parse("0")->minor(), 0);
  EXPECT_EQ(Money::parse("1000000000")->minor(), Money::kMaxMinor);
}

TEST(Money, RejectsWhatIsNotAnAmount) {
  for (auto text : {"", ".", "1.", ".5", "1.234", "-1", "+1", "1e3", "NaN", "inf", " 1", "1 ", "1,00", "0x10",
                    "1000000000.01", "99999999999999999999"}) {
    EXPECT_FALSE(Money::parse(text)) << text;
  }
}

TEST(Money, FormatsTwoPlaces) {
  EXPECT_EQ(Money::from_minor(13000).to_string(), "130.00");
  EXPECT_EQ(Money::from_minor(30).to_string(), "0.30");
  EXPECT_EQ(Money::from_minor(5).to_string(), "0.05");
  EXPECT_EQ(Money::from_minor(0).to_string(), "0.00");
  EXPECT_EQ(Money::from_minor(-150).to_string(), "-1.50");
}

TEST(Money, ArithmeticIsExactAndGuarded) {
  auto total = Money::from_minor(10);
  total += Money::from_minor(20);
  EXPECT_EQ(total.to_string(), "0.30");  // 0.1 + 0.2, exactly
  EXPECT_EQ(Money::from_minor(5000).times(2).minor(), 10000);
  EXPECT_THROW(Money::from_minor(1).times(-1), std::overflow_error);
  auto big = Money::from_minor(std::numeric_limits<std::int64_t>::max());
  EXPECT_THROW(big += Money::from_minor(1), std::overflow_error);
}

TEST(Money, ReadsJsonNumbersFromTheirSourceText) {
  EXPECT_EQ(from_json("130")->minor(), 13000);
  EXPECT_EQ(from_json("130.0")->minor(), 13000);
  EXPECT_EQ(from_json("\"130.00\"")->minor(), 13000);
  EXPECT_EQ(from_json("0.1")->minor(), 10);
  std::string message;
  EXPECT_FALSE(from_json("0.30000000000000004", &message));
  EXPECT_EQ(message, "Ensure that there are no more than 2 decimal places.");
  EXPECT_FALSE(from_json("-5", &message));
  EXPECT_EQ(message, "Ensure this value is greater than or equal to 0.");
  EXPECT_FALSE(from_json("18446744073709551615", &message));
  EXPECT_EQ(message, "Ensure this value is less than or equal to 1000000000.00.");
  EXPECT_FALSE(from_json("1e400", &message));
  EXPECT_FALSE(from_json("true", &message));
  EXPECT_EQ(message, "A valid number is required.");
  EXPECT_FALSE(from_json("\"12abc\"", &message));
  EXPECT_EQ(message, "A valid number is required.");
}

TEST(Json, ReadsIntegersAsDrfsIntegerFieldDid) {
  auto read = [](std::string_view text, std::int64_t& out) {
    boost::system::error_code ec;
    auto value = common::parse_json(text, ec);
    EXPECT_FALSE(ec) << text;
    return common::read_integer(value, out);
  };
  using common::IntegerRead;
  for (auto text : {"2", "\"2\"", "2.0", "\"2.0\"", "\" 2 \"", "\"+2\"", "\"2.\"", "2.000"}) {
    std::int64_t n = 0;
    EXPECT_EQ(read(text, n), IntegerRead::integer) << text;
    EXPECT_EQ(n, 2) << text;
  }
  std::int64_t n = 0;
  EXPECT_EQ(read("\"-7\"", n), IntegerRead::integer);
  EXPECT_EQ(n, -7);
  for (auto text : {"2.5", "\"2.5\"", "\"two\"", "\"\"", "\" \"", "\"1e3\"", "1e3", "true", "null", "[2]", "\"0x10\"",
                    "\"2 2\"", "\"+-2\"", "\".0\"", "\"-\""}) {
    EXPECT_EQ(read(text, n), IntegerRead::not_integer) << text;
  }
  for (auto text : {"99999999999999999999", "\"99999999999999999999\"", "\"-9223372036854775809\""}) {
    EXPECT_EQ(read(text, n), IntegerRead::too_large) << text;
  }
}
