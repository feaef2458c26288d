#include "payments/mock_rules.hpp"

#include <array>

namespace payments {
namespace {

struct TestCard {
  std::string_view number;
  Outcome outcome;
  std::string_view code;
  std::string_view message;
};

constexpr std::string_view kDeclined = "Your card was declined.";

constexpr std::array kTestCards{
    TestCard{"4000000000000002", Outcome::declined, "card_declined", kDeclined},
    TestCard{"4000000000009995", Outcome::declined, "insufficient_funds", "Your card has insufficient funds."},
    TestCard{"4000000000000069", Outcome::declined, "expired_card", "Your card has expired."},
    TestCard{"4000000000000127", Outcome::declined, "incorrect_cvc", "Your card's security code is incorrect."},
    TestCard{"4000000000000119", Outcome::error, "processing_error",
             "An error occurred while processing your card. Try again in a little bit."},
};

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

Verdict judge(const Card& card, std::chrono::year_month today) {
  if (!luhn_valid(card.number)) return {Outcome::declined, "incorrect_number", "Your card number is incorrect."};
  for (const auto& test : kTestCards) {
    if (card.number == test.number) return {test.outcome, std::string(test.code), std::string(test.message)};
  }
  // A card is good through the last day of its expiry month.
  std::chrono::year_month expiry{std::chrono::year{card.exp_year},
                                 std::chrono::month{static_cast<unsigned>(card.exp_month)}};
  if (card.exp_month < 1 || card.exp_month > 12 || expiry < today) {
    return {Outcome::declined, "expired_card", "Your card has expired."};
  }
  return {Outcome::approved, "", "Payment approved."};
}

bool refuses_refunds(const Card& card) { return card.number == kRefundRefusingCard; }

std::chrono::year_month current_month() {
  std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  return {day.year(), day.month()};
}

}  // namespace payments
