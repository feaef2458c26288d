#pragma once
// The emails about an account rather than an order (issue #20): the password-reset link and the
// confirm-your-email link. They go through the same outbox as the order emails, with no order
// (order_id NULL), one row per link sent; their links travel sealed (notify/sealed.hpp).
//
// Their kinds are in outbox.hpp's kEmailKinds with the order emails', so their templates are loaded
// and checked at start-up like every other kind's (notify/templates.cpp), against the samples of
// notify/samples.cpp, and `orderd email preview password_reset` renders them. Only the queueing is
// their own: notify::enqueue keys a row by its order, and these have none.

#include "db/database.hpp"
#include "notify/outbox.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace notify {

inline constexpr std::array<std::string_view, 2> kAccountEmailKinds = {kPasswordReset, kEmailVerification};

bool is_account_email(std::string_view kind);

// Queues one account email in the caller's transaction. `context` holds the template context with the
// link already sealed under kSealedKey. Returns the row id.
std::int64_t enqueue_account_email(db::Connection& c, std::string_view kind, const std::string& recipient,
                                   const boost::json::object& context);

}  // namespace notify
