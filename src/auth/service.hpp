#pragma once
// Accounts: registration, login with throttling, refresh-token rotation with reuse detection,
// logout, roles. Knows nothing of HTTP; throws common::Error with the contract's codes.

#include "auth/password.hpp"
#include "auth/role.hpp"
#include "auth/throttle.hpp"
#include "auth/tokens.hpp"
#include "common/error.hpp"
#include "db/database.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace auth {
namespace repo {
struct UserRow;
}

struct NewUser {
  std::string email;
  std::string username;
  std::string password;
  std::optional<std::string> phone_number;
  Role role = Role::customer;
};

struct User {
  std::int64_t id = 0;
  std::string email;
  std::string username;
  std::optional<std::string> phone_number;
  Role role = Role::customer;
  bool active = true;
  std::int64_t created_at = 0;  // microseconds since the epoch
  bool email_verified = false;
  bool low_stock_alerts = false;  // staff only (migration 013)
};

// Who a low-stock email goes to.
struct AlertRecipient {
  std::string username;
  std::string email;
};

struct UserPage {
  std::int64_t count = 0;
  std::vector<User> users;
};

// A staff change to an account: the fields present change.
struct UserChange {
  std::optional<Role> role;
  std::optional<bool> active;
  std::optional<bool> low_stock_alerts;  // staff accounts only (validation_error for a customer)
};

struct Tokens {
  std::string access;
  std::string refresh;
};

// The two emails accounts send (issue #20). The app queues them in the email outbox, in the
// transaction it is given: `context` is the template context; `sealed` holds the link with its token,
// which must not rest in the database in clear (the app seals it, notify/sealed.hpp).
enum class AccountEmail { password_reset, email_verification };
using QueueAccountEmail = std::function<void(db::Connection& c, AccountEmail kind, const std::string& recipient,
                                             boost::json::object context, const boost::json::object& sealed)>;

// The longest email any route accepts (RFC 5321's path limit less its angle brackets). Longer is a
// validation_error before any other work.
constexpr std::size_t kMaxEmailBytes = 254;

// Checks every rule of a registration and normalises it (email lower-case, phone digits);
// throws validation_error with the messages per field.
void validate_new_user(NewUser& user);
// The password rules alone (at least 8 characters, at most 128, not all digits, not the email or
// username), as messages on `field`.
void check_password(common::FieldErrors& errors, std::string_view field, const std::string& password,
                    std::string_view email, std::string_view username);

class Service {
 public:
  struct Settings {
    bool rotate_refresh = true;
    // Failed logins within failure_window: of one account from one client address (the owner elsewhere
    // is not locked out by a guesser), from one address over all accounts, and of one account from
    // all addresses together (a ceiling for a guess spread over many addresses).
    int failures_per_account_and_address = 5;
    int failures_per_address = 100;
    int failures_per_account = 50;
    std::chrono::seconds failure_window{15 * 60};
    // Registrations from one client address within registration_window; 0: no limit.
    int registrations_per_address = 10;
    std::chrono::seconds registration_window{60 * 60};
    // Account emails: the links ("{token}" is replaced), how long they work, whether registration
    // sends the confirm-your-email message, and whether placing an order needs a verified address.
    std::string password_reset_url = "http://localhost/account/reset-password?token={token}";
    std::string email_verification_url = "http://localhost/account/verify-email?token={token}";
    std::chrono::seconds password_reset_ttl{60 * 60};
    std::chrono::seconds email_verification_ttl{3 * 24 * 60 * 60};
    bool verification_email_on_register = false;
    // Reset requests within reset_window: from one client address, and for one email (whether or not
    // an account has it, so that the throttle tells nothing either). Verification resends per account.
    int resets_per_address = 20;
    int resets_per_email = 5;
    int verification_resends_per_account = 5;
    std::chrono::seconds reset_window{60 * 60};
  };
  // Each of the four throttles keeps at most this many bytes (Throttle::memory_bound).
  static constexpr std::size_t kThrottleBytes = std::size_t{4} << 20;

  Service(db::Database& database, PasswordHasher& hasher, const TokenSigner& signer, Settings settings);

  // `client_address` counts against registrations_per_address; empty (the CLI) is not throttled.
  User register_user(NewUser user, std::string_view client_address = {});
  Tokens login(std::string_view email, std::string_view password, const std::string& client_address);
  Tokens refresh(std::string_view refresh_token);
  void logout(std::string_view refresh_token);
  // The sweeper: deletes a batch of expired and revoked refresh tokens; returns how many (0: none left).
  std::int64_t purge_refresh_tokens(std::int64_t now_micros);
  User user(std::int64_t id);
  AccessClaims verify_access(std::string_view token) const;
  // For the CLI: false when no user has that email.
  bool set_role(std::string_view email, Role role);

  // Where the account emails go (the app's outbox); until it is set (the CLI) none is queued.
  void set_email_queue(QueueAccountEmail queue) { queue_email_ = std::move(queue); }
  // Where work is done after the answer (common::Background::post; false: full). Until it is set (the
  // CLI) a reset request does its work before answering.
  using AfterAnswer = std::function<bool(std::function<void()>)>;
  void set_after_answer(AfterAnswer after) { after_answer_ = std::move(after); }

  // POST /password/reset/: queues a reset link when an active account has that email. The answer is
  // the same whether or not one does, and so is its work: the account is looked up after the answer
  // (no account enumeration, by body or by time). Throttled per client address and per email (429);
  // 503 too_busy when the work after answers is full.
  void request_password_reset(std::string_view email, std::string_view client_address);
  // POST /password/reset/confirm/: sets the password (the registration rules), uses the token once,
  // ends every refresh token of the account. 400 invalid_token when unknown, used, expired or void
  // (the password changed since it was sent).
  void reset_password(std::string_view token, const std::string& password);
  // POST /password/change/: the current password is checked like a login (wrong: 400 on
  // current_password, counted by the login throttles); every refresh token family ends and a fresh
  // pair is returned.
  Tokens change_password(std::int64_t user_id, std::string_view current_password, const std::string& new_password,
                         const std::string& client_address);
  // POST /email/verify/: marks the address the link was sent to verified (400 invalid_token).
  void verify_email(std::string_view token);
  // POST /email/verify/resend/: a new confirm-your-email message (409 email_already_verified; 429).
  void resend_verification(std::int64_t user_id);
  // Staff: sends the account a reset link (404 no such user, 409 account_inactive).
  void send_password_reset(std::int64_t user_id);
  // For place_order when require_verified_email is set: 403 email_not_verified, in the order's transaction.
  static void require_verified_email(db::Connection& c, std::int64_t user_id);
  // Active staff who opted in to low-stock emails, read in the caller's transaction (the crossing's).
  static std::vector<AlertRecipient> low_stock_recipients(db::Connection& c);
  // The sweeper: deletes a batch of expired account tokens; returns how many (0: none left).
  std::int64_t purge_account_tokens(std::int64_t now_micros);

  // Staff: every account, by id; `search` in the username or email.
  UserPage list_users(const std::optional<std::string>& search, std::int64_t limit,
                      const std::function<std::int64_t(std::int64_t)>& page_offset);
  // Staff: promotes, demotes, deactivates or reactivates an account. Staff cannot demote or
  // deactivate themselves (409 cannot_change_own_account), so a shop always keeps the staff member
  // who is signed in. Deactivation ends the account's refresh tokens: login and refresh fail at once,
  // and access tokens already issued run out within their lifetime. 404 when there is no such user.
  User update_user(std::int64_t actor_id, std::int64_t user_id, const UserChange& change);

 private:
  Tokens issue(std::int64_t user_id, Role role, const std::string& family, db::Connection& c);
  // Issues a link token for `user` and queues its email, in the caller's transaction.
  void send_link(db::Connection& c, AccountEmail kind, const repo::UserRow& user, std::int64_t now);
  void check_login_throttles(const std::string& email, const std::string& client_address);
  void record_login_failure(const std::string& email, const std::string& client_address);

  db::Database& database_;
  PasswordHasher& hasher_;
  const TokenSigner& signer_;
  Settings settings_;
  Throttle per_account_and_address_;
  Throttle per_address_;
  Throttle per_account_;
  Throttle registrations_;
  Throttle resets_per_address_;
  Throttle resets_per_email_;
  Throttle verification_resends_;
  QueueAccountEmail queue_email_;
  AfterAnswer after_answer_;
};

}  // namespace auth
