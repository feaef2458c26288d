#include "notify/account_emails.hpp"

#include "common/clock.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace notify {
namespace {

// No order, so no UNIQUE (kind, order_id, ref) conflict: NULLs are distinct, and every link sent is a
// row (ref 0, as for any kind sent once).
constexpr std::string_view kEnqueueAccountEmail =
    "INSERT INTO outbox (kind, order_id, ref, recipient, payload, status, attempts, next_attempt_at, created_at)"
    " VALUES ($1, NULL, 0, $2, $3, 'pending', 0, $4, $4) RETURNING id";

}  // namespace

bool is_account_email(std::string_view kind) {
  return std::find(kAccountEmailKinds.begin(), kAccountEmailKinds.end(), kind) != kAccountEmailKinds.end();
}

std::int64_t enqueue_account_email(db::Connection& c, std::string_view kind, const std::string& recipient,
                                   const boost::json::object& context) {
  return c.query(kEnqueueAccountEmail, kind, recipient, boost::json::serialize(context), common::now_micros())[0]
      .integer(0);
}

}  // namespace notify
