#include "notify/account_emails.hpp"

#include "common/clock.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace notify {
namespace {

// No order, so no UNIQUE (kind, order_id) conflict: NULLs are distinct, and every link sent is a row.
constexpr std::string_view kEnqueueAccountEmail =
    "INSERT INTO outbox (kind, order_id, recipient, payload, status, attempts, next_attempt_at, created_at)"
    " VALUES ($1, NULL, $2, $3, 'pending', 0, $4, $4) RETURNING id";

}  // namespace

bool is_account_email(std::string_view kind) {
  return std::find(kAccountEmailKinds.begin(), kAccountEmailKinds.end(), kind) != kAccountEmailKinds.end();
}

std::int64_t enqueue_account_email(db::Connection& c, std::string_view kind, const std::string& recipient,
                                   const boost::json::object& context) {
  return c.query(kEnqueueAccountEmail, kind, recipient, boost::json::serialize(context), common::now_micros())[0]
      .integer(0);
}

boost::json::object account_sample_context(std::string_view kind) {
  boost::json::object context{{"username", "example_user"},
                              {"email", "customer@example.com"},
                              {"shop_name", "Sample & Co"},
                              {"expires_at", "2024-05-04T13:00:00.123456Z"}};
  if (kind == kPasswordReset) {
    context["reset_url"] = "https://shop.example.com/account/reset-password?token=SAMPLE";
    context["valid_for"] = "1 hour";
  } else {
    context["verification_url"] = "https://shop.example.com/account/verify-email?token=SAMPLE";
    context["valid_for"] = "3 days";
  }
  return context;
}

std::string_view account_context_names(std::string_view kind) {
  if (kind == kPasswordReset) return "username, email, shop_name, reset_url, valid_for, expires_at";
  return "username, email, shop_name, verification_url, valid_for, expires_at";
}

}  // namespace notify
