#pragma once
// How the mock gateway judges a card: the one place both the in-process MockGateway and the
// `orderd mock-gateway` server take their answers from (Stripe's test card numbers).

#include "payments/gateway.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace payments {

bool luhn_valid(std::string_view digits);

struct Verdict {
  Outcome outcome = Outcome::approved;  // approved, declined, or error (processing error: not charged)
  std::string decline_code;             // empty when approved
  std::string message;
};

// Luhn failure -> incorrect_number; the test cards below; an expiry month before `today`'s month ->
// expired_card; every other Luhn-valid number approves.
//   4242424242424242 approves            4000000000000069 expired_card
//   4000000000000002 card_declined       4000000000000127 incorrect_cvc
//   4000000000009995 insufficient_funds  4000000000000119 processing error (retryable)
//   4000000000005126 approves, but every refund of its charges is refused (expired_or_canceled_card)
Verdict judge(const Card& card, std::chrono::year_month today);

// Stripe's 4000000000005126: the charge succeeds, its refunds fail.
inline constexpr std::string_view kRefundRefusingCard = "4000000000005126";
bool refuses_refunds(const Card& card);

// The current month in UTC.
std::chrono::year_month current_month();

}  // namespace payments
