#pragma once
// Accounts: registration, login with throttling, refresh-token rotation with reuse detection,
// logout, roles. Knows nothing of HTTP; throws common::Error with the contract's codes.

#include "auth/password.hpp"
#include "auth/role.hpp"
#include "auth/throttle.hpp"
#include "auth/tokens.hpp"
#include "db/database.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace auth {

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
};

struct UserPage {
  std::int64_t count = 0;
  std::vector<User> users;
};

// A staff change to an account: the fields present change.
struct UserChange {
  std::optional<Role> role;
  std::optional<bool> active;
};

struct Tokens {
  std::string access;
  std::string refresh;
};

// The longest email any route accepts (RFC 5321's path limit less its angle brackets). Longer is a
// validation_error before any other work.
constexpr std::size_t kMaxEmailBytes = 254;

// Checks every rule of a registration and normalises it (email lower-case, phone digits);
// throws validation_error with the messages per field.
void validate_new_user(NewUser& user);

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

  db::Database& database_;
  PasswordHasher& hasher_;
  const TokenSigner& signer_;
  Settings settings_;
  Throttle per_account_and_address_;
  Throttle per_address_;
  Throttle per_account_;
  Throttle registrations_;
};

}  // namespace auth
