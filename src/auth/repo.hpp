#pragma once
// The users and refresh_tokens tables. Plain SQL, no rules: the service decides.

#include "db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auth::repo {

struct UserRow {
  std::int64_t id = 0;
  std::string email;
  std::string username;
  std::optional<std::string> phone_number;
  std::string password_hash;
  std::string role;
  bool active = true;
  std::int64_t created_at = 0;
  bool email_verified = false;
  std::int64_t password_changed_at = 0;  // the password's version (migration 011)
  bool low_stock_alerts = false;         // staff only: low-stock emails (migration 013)
};

struct NewUserRow {
  std::string email;
  std::string username;
  std::optional<std::string> phone_number;
  std::string password_hash;
  std::string role;
};

struct RefreshRow {
  std::string family;
  std::int64_t user_id = 0;
  bool used = false;
  bool revoked = false;
};

std::optional<UserRow> find_user_by_email(db::Connection& c, std::string_view email);
std::optional<UserRow> find_user_by_id(db::Connection& c, std::int64_t id);
// find_user_by_id for a transaction that issues refresh tokens: until it ends, no other transaction
// changes the password or deactivates the account, so its tokens are revoked by any change that follows.
std::optional<UserRow> lock_user(db::Connection& c, std::int64_t id);
bool email_exists(db::Connection& c, std::string_view email);
bool username_exists(db::Connection& c, std::string_view username);
std::int64_t insert_user(db::Connection& c, const NewUserRow& user, std::int64_t now);
bool set_role(db::Connection& c, std::string_view email, std::string_view role);
// Users by id; `search`: the username or email contains it, case-insensitively.
std::int64_t count_users(db::Connection& c, const std::optional<std::string>& search);
std::vector<UserRow> list_users(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                std::int64_t offset);
// Changes the fields given (the others stay); false when there is no such user. An account that is
// not staff after the change loses low_stock_alerts.
bool update_user(db::Connection& c, std::int64_t id, const std::optional<std::string>& role,
                 std::optional<bool> active, std::optional<bool> low_stock_alerts);
// Active staff accounts that opted in to low-stock emails, by id.
struct Recipient {
  std::string username;
  std::string email;
};
std::vector<Recipient> low_stock_recipients(db::Connection& c);
// Ends every refresh token of a user (deactivation).
void revoke_user_refresh(db::Connection& c, std::int64_t user_id, std::int64_t now);

void insert_refresh(db::Connection& c, std::string_view jti, std::string_view family, std::int64_t user_id,
                    std::int64_t expires_at, std::int64_t now);
std::optional<RefreshRow> find_refresh(db::Connection& c, std::string_view jti);
// Marks a token rotated; false when it already was (or was revoked) — someone else used it first.
bool mark_refresh_used(db::Connection& c, std::string_view jti, std::int64_t now);
void revoke_family(db::Connection& c, std::string_view family, std::int64_t now);
void delete_expired_refresh(db::Connection& c, std::int64_t user_id, std::int64_t now);
// Revokes every live session of the account but the newest `keep` (the sweeper then deletes them).
void end_oldest_sessions(db::Connection& c, std::int64_t user_id, std::int64_t keep, std::int64_t now);
// Deletes the family's used tokens except the `keep` most recently used, so that a family that
// rotates forever keeps a bounded number of rows.
void trim_used_refresh(db::Connection& c, std::string_view family, std::int64_t keep);
// Deletes up to `limit` expired and up to `limit` revoked tokens (any user); returns how many went.
std::int64_t purge_refresh(db::Connection& c, std::int64_t now, std::int64_t limit);

// Password-reset and email-verification tokens (account_tokens): only their SHA-256 is stored.
inline constexpr std::string_view kPasswordResetPurpose = "password_reset";
inline constexpr std::string_view kEmailVerificationPurpose = "email_verification";

struct NewAccountToken {
  std::string token_hash;
  std::string_view purpose;
  std::int64_t user_id = 0;
  std::string email;
  std::int64_t password_version = 0;
  std::int64_t expires_at = 0;
};
struct UsedToken {
  std::int64_t user_id = 0;
  std::string email;
  std::int64_t password_version = 0;
};
void insert_account_token(db::Connection& c, const NewAccountToken& token, std::int64_t now);
// The account of a token of that purpose that is unused and unexpired (a look before expensive work).
std::optional<UserRow> account_token_user(db::Connection& c, std::string_view token_hash, std::string_view purpose,
                                          std::int64_t now);
// Uses the token: one guarded UPDATE (unused, unexpired), so of two requests with the same token exactly
// one gets it, on any number of nodes. nullopt: unknown, used, expired or of another purpose.
std::optional<UsedToken> use_account_token(db::Connection& c, std::string_view token_hash, std::string_view purpose,
                                           std::int64_t now);
// Sets a new password when the user's password is still at `version` and the account is active (false
// otherwise: it changed meanwhile, so the token that asked is void). The version becomes `now` (or one
// more than the old one, should the clock not have moved). `verified_email`: the address the link went
// to, marked verified when it is still the account's (a reset link proves the mailbox too); empty: no.
bool set_password(db::Connection& c, std::int64_t user_id, const std::string& password_hash, std::int64_t version,
                  std::string_view verified_email, std::int64_t now);
// Marks the address verified when it is still the account's; false otherwise.
bool mark_email_verified(db::Connection& c, std::int64_t user_id, std::string_view email);
bool email_verified(db::Connection& c, std::int64_t user_id);
// Deletes up to `limit` expired tokens; returns how many went.
std::int64_t purge_account_tokens(db::Connection& c, std::int64_t now, std::int64_t limit);

}  // namespace auth::repo
