#include "auth/repo.hpp"

namespace auth::repo {
namespace {

// The columns user_row() reads, in its order.
constexpr auto kSelectUsers = db::concat(
    "SELECT id, email, username, phone_number, password_hash, role, is_active, created_at, email_verified,"
    " password_changed_at, low_stock_alerts FROM users");
constexpr auto kUserByEmail = db::concat(kSelectUsers, " WHERE email = $1");
constexpr auto kUserById = db::concat(kSelectUsers, " WHERE id = $1");
// PostgreSQL: a password change, reset or deactivation (an UPDATE of the row) waits for the holder, and
// the holder waits for one in progress and then reads what it committed. SQLite's writes are serial.
constexpr auto kLockUserById = db::concat(kUserById, " FOR SHARE");
// Staff's user list: $1 a LIKE pattern or NULL (emails are stored lower-cased).
constexpr auto kMatching =
    db::concat(" WHERE (CAST($1 AS TEXT) IS NULL OR lower(username) LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\')");
constexpr auto kCountUsers = db::concat("SELECT count(*) FROM users", kMatching);
constexpr auto kListUsers = db::concat(kSelectUsers, kMatching, " ORDER BY id LIMIT $2 OFFSET $3");
// low_stock_alerts ($4, or as it was) is kept only while the account stays staff: a demotion clears it.
constexpr std::string_view kUpdateUser =
    "UPDATE users SET role = COALESCE(CAST($2 AS TEXT), role), is_active = COALESCE(CAST($3 AS INTEGER), is_active),"
    " low_stock_alerts = CASE WHEN COALESCE(CAST($2 AS TEXT), role) = 'staff'"
    "                         THEN COALESCE(CAST($4 AS INTEGER), low_stock_alerts) ELSE 0 END"
    " WHERE id = $1";
// Who gets low-stock emails (migration 013): active staff who opted in.
constexpr std::string_view kLowStockRecipients =
    "SELECT username, email FROM users WHERE low_stock_alerts = 1 AND role = 'staff' AND is_active = 1 ORDER BY id";
constexpr std::string_view kRevokeUserRefresh =
    "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
constexpr std::string_view kEmailExists = "SELECT 1 FROM users WHERE email = $1";
constexpr std::string_view kUsernameExists = "SELECT 1 FROM users WHERE username = $1";
constexpr std::string_view kInsertUser =
    "INSERT INTO users (email, username, phone_number, password_hash, role, is_active, created_at)"
    " VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id";
constexpr std::string_view kSetRole = "UPDATE users SET role = $2 WHERE email = $1";

constexpr std::string_view kInsertRefresh =
    "INSERT INTO refresh_tokens (jti, family, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)";
constexpr std::string_view kFindRefresh =
    "SELECT family, user_id, CASE WHEN used_at IS NULL THEN 0 ELSE 1 END,"
    " CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END FROM refresh_tokens WHERE jti = $1";
constexpr std::string_view kMarkUsed =
    "UPDATE refresh_tokens SET used_at = $2 WHERE jti = $1 AND used_at IS NULL AND revoked_at IS NULL";
constexpr std::string_view kRevokeFamily =
    "UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL";
constexpr std::string_view kDeleteExpired = "DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < $2";
// Every live session (a family's unused, unrevoked token) of the account but the newest $2 ends.
constexpr std::string_view kEndOldestSessions =
    "UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL AND family IN"
    " (SELECT family FROM refresh_tokens WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL"
    " ORDER BY created_at DESC, jti LIMIT 1000000000 OFFSET $2)";
constexpr std::string_view kTrimUsed =
    "DELETE FROM refresh_tokens WHERE family = $1 AND used_at IS NOT NULL AND jti NOT IN"
    " (SELECT jti FROM refresh_tokens WHERE family = $1 AND used_at IS NOT NULL ORDER BY used_at DESC, jti DESC"
    " LIMIT $2)";
// In batches (SQLite has no DELETE ... LIMIT by default), each found by its index (refresh_tokens_expiry,
// refresh_tokens_revoked).
constexpr std::string_view kPurgeExpired =
    "DELETE FROM refresh_tokens WHERE jti IN (SELECT jti FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)";
constexpr std::string_view kPurgeRevoked =
    "DELETE FROM refresh_tokens WHERE jti IN (SELECT jti FROM refresh_tokens WHERE revoked_at IS NOT NULL LIMIT $1)";

// Account tokens (migration 011). A token is usable while unused and unexpired; using it is the one
// guarded UPDATE below, which PostgreSQL re-evaluates on the newest row after waiting for its lock.
constexpr std::string_view kInsertAccountToken =
    "INSERT INTO account_tokens (token_hash, purpose, user_id, email, password_version, expires_at, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)";
constexpr auto kTokenUser = db::concat(
    kSelectUsers,
    " WHERE id = (SELECT user_id FROM account_tokens"
    "             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3)");
constexpr std::string_view kUseToken =
    "UPDATE account_tokens SET used_at = $3"
    " WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
    " RETURNING user_id, email, password_version";
// The password's version guards the write: a password changed since the token was issued voids it.
constexpr std::string_view kSetPassword =
    "UPDATE users SET password_hash = $2,"
    " password_changed_at = CASE WHEN $5 > password_changed_at THEN $5 ELSE password_changed_at + 1 END,"
    " email_verified = CASE WHEN email = $4 THEN 1 ELSE email_verified END"
    " WHERE id = $1 AND password_changed_at = $3 AND is_active = 1";
constexpr std::string_view kMarkVerified = "UPDATE users SET email_verified = 1 WHERE id = $1 AND email = $2";
constexpr std::string_view kEmailVerified = "SELECT email_verified FROM users WHERE id = $1";
constexpr std::string_view kPurgeAccountTokens =
    "DELETE FROM account_tokens WHERE token_hash IN"
    " (SELECT token_hash FROM account_tokens WHERE expires_at < $1 LIMIT $2)";

UserRow user_row(const db::Row& row) {
  return UserRow{row.integer(0), row.text(1), row.text(2),          row.optional_text(3),
                 row.text(4),    row.text(5), row.integer(6) != 0, row.integer(7),
                 row.integer(8) != 0, row.integer(9), row.integer(10) != 0};
}

std::optional<UserRow> user_from(const db::Result& r) {
  auto row = r.first();
  if (!row) return std::nullopt;
  return user_row(*row);
}

}  // namespace

std::optional<UserRow> find_user_by_email(db::Connection& c, std::string_view email) {
  return user_from(c.query(kUserByEmail, email));
}

std::optional<UserRow> find_user_by_id(db::Connection& c, std::int64_t id) { return user_from(c.query(kUserById, id)); }

std::optional<UserRow> lock_user(db::Connection& c, std::int64_t id) {
  return user_from(c.query(c.sql(kUserById, kLockUserById), id));
}

bool email_exists(db::Connection& c, std::string_view email) { return !c.query(kEmailExists, email).empty(); }

bool username_exists(db::Connection& c, std::string_view username) {
  return !c.query(kUsernameExists, username).empty();
}

std::int64_t insert_user(db::Connection& c, const NewUserRow& u, std::int64_t now) {
  return c.query(kInsertUser, u.email, u.username, u.phone_number, u.password_hash, u.role, now)[0].integer(0);
}

bool set_role(db::Connection& c, std::string_view email, std::string_view role) {
  return c.query(kSetRole, email, role).affected_rows == 1;
}

std::int64_t count_users(db::Connection& c, const std::optional<std::string>& search) {
  return c.query(kCountUsers, db::contains_pattern(search))[0].integer(0);
}

std::vector<UserRow> list_users(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                std::int64_t offset) {
  auto r = c.query(kListUsers, db::contains_pattern(search), limit, offset);
  std::vector<UserRow> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(user_row(r[i]));
  return out;
}

namespace {
db::Value optional_flag(std::optional<bool> flag) {
  if (!flag) return db::Null{};
  return std::int64_t{*flag ? 1 : 0};
}
}  // namespace

bool update_user(db::Connection& c, std::int64_t id, const std::optional<std::string>& role,
                 std::optional<bool> active, std::optional<bool> low_stock_alerts) {
  return c.query(kUpdateUser, id, role, optional_flag(active), optional_flag(low_stock_alerts)).affected_rows == 1;
}

std::vector<Recipient> low_stock_recipients(db::Connection& c) {
  auto r = c.query(kLowStockRecipients);
  std::vector<Recipient> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back({r[i].text(0), r[i].text(1)});
  return out;
}

void revoke_user_refresh(db::Connection& c, std::int64_t user_id, std::int64_t now) {
  c.query(kRevokeUserRefresh, user_id, now);
}

void insert_refresh(db::Connection& c, std::string_view jti, std::string_view family, std::int64_t user_id,
                    std::int64_t expires_at, std::int64_t now) {
  c.query(kInsertRefresh, jti, family, user_id, expires_at, now);
}

std::optional<RefreshRow> find_refresh(db::Connection& c, std::string_view jti) {
  auto r = c.query(kFindRefresh, jti);
  auto row = r.first();
  if (!row) return std::nullopt;
  return RefreshRow{row->text(0), row->integer(1), row->integer(2) != 0, row->integer(3) != 0};
}

bool mark_refresh_used(db::Connection& c, std::string_view jti, std::int64_t now) {
  return c.query(kMarkUsed, jti, now).affected_rows == 1;
}

void revoke_family(db::Connection& c, std::string_view family, std::int64_t now) {
  c.query(kRevokeFamily, family, now);
}

void delete_expired_refresh(db::Connection& c, std::int64_t user_id, std::int64_t now) {
  c.query(kDeleteExpired, user_id, now);
}

void end_oldest_sessions(db::Connection& c, std::int64_t user_id, std::int64_t keep, std::int64_t now) {
  c.query(kEndOldestSessions, user_id, keep, now);
}

void trim_used_refresh(db::Connection& c, std::string_view family, std::int64_t keep) {
  c.query(kTrimUsed, family, keep);
}

std::int64_t purge_refresh(db::Connection& c, std::int64_t now, std::int64_t limit) {
  return c.query(kPurgeExpired, now, limit).affected_rows + c.query(kPurgeRevoked, limit).affected_rows;
}

void insert_account_token(db::Connection& c, const NewAccountToken& t, std::int64_t now) {
  c.query(kInsertAccountToken, t.token_hash, t.purpose, t.user_id, t.email, t.password_version, t.expires_at, now);
}

std::optional<UserRow> account_token_user(db::Connection& c, std::string_view token_hash, std::string_view purpose,
                                          std::int64_t now) {
  return user_from(c.query(kTokenUser, token_hash, purpose, now));
}

std::optional<UsedToken> use_account_token(db::Connection& c, std::string_view token_hash, std::string_view purpose,
                                           std::int64_t now) {
  auto r = c.query(kUseToken, token_hash, purpose, now);
  auto row = r.first();
  if (!row) return std::nullopt;
  return UsedToken{row->integer(0), row->text(1), row->integer(2)};
}

bool set_password(db::Connection& c, std::int64_t user_id, const std::string& password_hash, std::int64_t version,
                  std::string_view verified_email, std::int64_t now) {
  return c.query(kSetPassword, user_id, password_hash, version, verified_email, now).affected_rows == 1;
}

bool mark_email_verified(db::Connection& c, std::int64_t user_id, std::string_view email) {
  return c.query(kMarkVerified, user_id, email).affected_rows == 1;
}

bool email_verified(db::Connection& c, std::int64_t user_id) {
  auto r = c.query(kEmailVerified, user_id);
  auto row = r.first();
  return row && row->integer(0) != 0;
}

std::int64_t purge_account_tokens(db::Connection& c, std::int64_t now, std::int64_t limit) {
  return c.query(kPurgeAccountTokens, now, limit).affected_rows;
}

}  // namespace auth::repo
