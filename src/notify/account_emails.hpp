#pragma once
// The emails about an account rather than an order (issue #20): the password-reset link and the
// confirm-your-email link. They go through the same outbox as the order emails, with no order
// (order_id NULL), one row per link sent; their links travel sealed (notify/sealed.hpp).
//
// Kept apart from the order emails on purpose, so that the outbox's per-order machinery
// (notify/outbox.hpp) stays as it is; the templates are loaded and checked like the confirmation's
// (notify/templates.cpp, one set per kind below).

#include "db/database.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace notify {

inline constexpr std::string_view kPasswordReset = "password_reset";
inline constexpr std::string_view kEmailVerification = "email_verification";
inline constexpr std::array<std::string_view, 2> kAccountEmailKinds = {kPasswordReset, kEmailVerification};

bool is_account_email(std::string_view kind);

// Queues one account email in the caller's transaction. `context` holds the template context with the
// link already sealed under kSealedKey. Returns the row id.
std::int64_t enqueue_account_email(db::Connection& c, std::string_view kind, const std::string& recipient,
                                   const boost::json::object& context);

// A complete context of that kind, as docs/contract.md ("Account emails") describes it, with the link
// in clear: for checking templates and for previews.
boost::json::object account_sample_context(std::string_view kind);
// The names that context offers, for a template error's message.
std::string_view account_context_names(std::string_view kind);

}  // namespace notify
