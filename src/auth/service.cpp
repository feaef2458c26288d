#include "auth/service.hpp"

#include "auth/repo.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/text.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace auth {
namespace {

constexpr std::size_t kMaxUsername = 50;
constexpr std::size_t kMinPassword = 8;
constexpr std::size_t kMaxPassword = 128;

std::int64_t now_seconds() { return common::now_micros() / 1'000'000; }

// The users table's CHECK constraint admits only the two spellings.
Role stored_role(const std::string& text) {
  auto role = parse_role(text);
  if (!role) throw std::logic_error("users.role holds an unknown role: " + text);
  return *role;
}

// A staff change's role as the users table spells it (null: unchanged).
std::optional<std::string> role_column(const std::optional<Role>& role) {
  if (!role) return std::nullopt;
  return std::string(to_string(*role));
}

// Low-stock emails are for staff: opting a customer in (or one this same change demotes) is refused.
// A missing account is left to the update's 404.
void refuse_alerts_for_customers(db::Connection& c, std::int64_t user_id, const std::optional<Role>& role) {
  auto row = repo::find_user_by_id(c, user_id);
  if (!row) return;
  auto after = role ? *role : stored_role(row->role);
  if (after == Role::staff) return;
  boost::json::object details{{"low_stock_alerts", boost::json::array{"Only staff accounts get low-stock emails."}}};
  throw common::Error("validation_error", "Invalid input: low_stock_alerts: Only staff accounts get low-stock emails.",
                      std::move(details));
}

User from_row(const repo::UserRow& r) {
  return User{r.id,     r.email,      r.username,       r.phone_number,     stored_role(r.role),
              r.active, r.created_at, r.email_verified, r.low_stock_alerts};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A host name of two labels or more whose last (the top-level domain) is two letters or more and
// holds no digit: "localhost" and "10.0.0.1" are no address to register with.
bool valid_domain(std::string_view domain) {
  auto dot = domain.rfind('.');
  if (!common::is_host_name(domain) || dot == std::string_view::npos) return false;
  auto last = domain.substr(dot + 1);
  return last.size() >= 2 && std::none_of(last.begin(), last.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
}

bool valid_email(std::string_view email) {
  if (email.size() > kMaxEmailBytes) return false;
  auto at = email.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  auto local = email.substr(0, at);
  return local.size() <= 64 && common::is_dot_atom(local) && valid_domain(email.substr(at + 1));
}

bool valid_username(std::string_view u) {
  constexpr std::string_view kSpecials = "@.+-_";
  return std::all_of(u.begin(), u.end(), [&](char c) { return is_alnum(c) || kSpecials.find(c) != std::string_view::npos; });
}

// "+44 20 7946-0958" -> "+442079460958"; nullopt when it is not a plausible E.164 number.
std::optional<std::string> normalise_phone(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '+' && out.empty() && i == raw.find_first_not_of(' ')) out += c;
    else if (std::isdigit(static_cast<unsigned char>(c))) out += c;
    else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') return std::nullopt;
  }
  auto digits = out.size() - (out.starts_with('+') ? 1 : 0);
  if (digits < 7 || digits > 15) return std::nullopt;
  return out;
}

[[noreturn]] void invalid_credentials() {
  throw common::Error("invalid_credentials", "No active account found with the given credentials");
}

[[noreturn]] void too_many(std::string_view message, std::int64_t seconds) {
  throw common::Error("too_many_requests", std::string(message), {{"retry_after", seconds}});
}

Throttle throttle(int limit, std::chrono::seconds window) {
  return Throttle(limit, window, Service::kThrottleBytes / Throttle::bytes_per_key(limit));
}

}  // namespace

void check_password(common::FieldErrors& errors, std::string_view field, const std::string& pw,
                    std::string_view email, std::string_view username) {
  auto length = common::characters(pw);
  if (length < kMinPassword) errors.add(field, "This password is too short. It must contain at least 8 characters.");
  if (length > kMaxPassword) errors.add(field, "Ensure this field has no more than 128 characters.");
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if (!pw.empty() && std::all_of(pw.begin(), pw.end(), digit)) errors.add(field, "This password is entirely numeric.");
  if (!pw.empty() && lower(pw) == lower(email)) errors.add(field, "The password is too similar to the email.");
  if (!pw.empty() && lower(pw) == lower(username)) errors.add(field, "The password is too similar to the username.");
}

void validate_new_user(NewUser& user) {
  common::FieldErrors errors;
  user.email = lower(trim(user.email));
  if (user.email.empty()) errors.add("email", "This field may not be blank.");
  else if (!valid_email(user.email)) errors.add("email", "Enter a valid email address.");

  if (user.username.empty()) errors.add("username", "This field may not be blank.");
  else if (user.username.size() > kMaxUsername) errors.add("username", "Ensure this field has no more than 50 characters.");
  else if (!valid_username(user.username)) {
    errors.add("username",
               "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.");
  }

  check_password(errors, "password", user.password, user.email, user.username);

  if (user.phone_number && trim(*user.phone_number).empty()) user.phone_number.reset();
  if (user.phone_number) {
    auto phone = normalise_phone(*user.phone_number);
    if (!phone) errors.add("phone_number", "Enter a valid phone number, e.g. +14155550123.");
    else user.phone_number = std::move(*phone);
  }
  errors.raise_if_any();
}

Service::Service(db::Database& database, PasswordHasher& hasher, const TokenSigner& signer, Settings settings)
    : database_(database),
      hasher_(hasher),
      signer_(signer),
      settings_(settings),
      per_account_and_address_(throttle(settings.failures_per_account_and_address, settings.failure_window)),
      per_address_(throttle(settings.failures_per_address, settings.failure_window)),
      per_account_(throttle(settings.failures_per_account, settings.failure_window)),
      registrations_(throttle(settings.registrations_per_address, settings.registration_window)),
      resets_per_address_(throttle(settings.resets_per_address, settings.reset_window)),
      resets_per_email_(throttle(settings.resets_per_email, settings.reset_window)),
      verification_resends_(throttle(settings.verification_resends_per_account, settings.reset_window)) {}

User Service::register_user(NewUser user, std::string_view client_address) {
  validate_new_user(user);
  if (settings_.registrations_per_address > 0 && !client_address.empty()) {
    if (auto wait = registrations_.retry_after(client_address); wait > 0) {
      too_many("Too many registrations from this address; try again later", wait);
    }
    registrations_.record(client_address);
  }
  auto taken = [](const char* code, const char* field, const char* message) {
    boost::json::object details{{field, boost::json::array{message}}};
    return common::Error(code, message, std::move(details));
  };
  constexpr auto kEmailTaken = "user with this email already exists.";
  constexpr auto kUsernameTaken = "A user with that username already exists.";
  database_.read([&](db::Connection& c) {
    if (repo::email_exists(c, user.email)) throw taken("email_taken", "email", kEmailTaken);
    if (repo::username_exists(c, user.username)) throw taken("username_taken", "username", kUsernameTaken);
  });
  repo::NewUserRow row{user.email, user.username, user.phone_number, hasher_.hash(user.password),
                       std::string(to_string(user.role))};
  try {
    auto now = common::now_micros();
    auto id = database_.transaction([&](db::Connection& c) {
      auto id = repo::insert_user(c, row, now);
      if (settings_.verification_email_on_register && queue_email_) {
        repo::UserRow created;
        created.id = id;
        created.email = user.email;
        created.username = user.username;
        send_link(c, AccountEmail::email_verification, created, now);
      }
      return id;
    });
    return User{id, user.email, user.username, user.phone_number, user.role, true, now};
  } catch (const db::Error& e) {
    // Another registration with the same email or username committed between our check and insert.
    if (e.kind() != db::Error::Kind::unique_violation) throw;
    if (e.constraint().find("email") != std::string::npos) throw taken("email_taken", "email", kEmailTaken);
    throw taken("username_taken", "username", kUsernameTaken);
  }
}

// Live sessions (refresh token families) one account may hold; a login beyond them ends the oldest.
constexpr std::int64_t kMostSessions = 100;

Tokens Service::login(std::string_view email_in, std::string_view password, const std::string& client_address) {
  auto email = lower(trim(email_in));
  check_login_throttles(email, client_address);
  auto user = database_.read([&](db::Connection& c) { return repo::find_user_by_email(c, email); });
  bool ok = false;
  if (user) ok = hasher_.verify(password, user->password_hash);
  else hasher_.spend_equal_time(password);
  if (!ok || !user->active) {
    record_login_failure(email, client_address);
    invalid_credentials();
  }
  per_account_and_address_.reset(email + '\0' + client_address);
  return database_.transaction([&](db::Connection& c) {
    // The password was checked against the hash read above: a change, reset or deactivation committed
    // since then has revoked every token, and this one must not outlive it either.
    auto current = repo::lock_user(c, user->id);
    if (!current || !current->active || current->password_changed_at != user->password_changed_at) {
      invalid_credentials();
    }
    auto now = common::now_micros();
    repo::delete_expired_refresh(c, user->id, now);
    // An account holds at most kMostSessions: each login beyond them ends the oldest (an audit's 400
    // logins left 400 live sessions, each kept for refresh_ttl).
    repo::end_oldest_sessions(c, user->id, kMostSessions - 1, now);
    return issue(user->id, stored_role(current->role), random_id(), c);
  });
}

// The pair key of a (account, address) throttle: no address holds a NUL.
void Service::check_login_throttles(const std::string& email, const std::string& client_address) {
  auto wait = std::max({per_account_and_address_.retry_after(email + '\0' + client_address),
                        per_address_.retry_after(client_address), per_account_.retry_after(email)});
  if (wait > 0) too_many("Too many failed login attempts; try again later", wait);
}

void Service::record_login_failure(const std::string& email, const std::string& client_address) {
  per_account_and_address_.record(email + '\0' + client_address);
  per_address_.record(client_address);
  per_account_.record(email);
}

Tokens Service::issue(std::int64_t user_id, Role role, const std::string& family, db::Connection& c) {
  auto now = now_seconds();
  auto refresh = signer_.refresh_token(user_id, family, now);
  repo::insert_refresh(c, refresh.jti, family, user_id, refresh.expires_at * 1'000'000, common::now_micros());
  return Tokens{signer_.access_token(user_id, role, now), std::move(refresh.token)};
}

// Used rows a family keeps after a rotation (the rest are deleted): a family stays at most this plus
// its one live token. Reuse of an older token is still caught, by its missing row (refresh()).
constexpr std::int64_t kUsedRefreshKept = 3;

Tokens Service::refresh(std::string_view token) {
  auto claims = signer_.verify_refresh(token, now_seconds());
  enum class Outcome { issued, reused, invalid };
  Tokens tokens;
  auto outcome = database_.transaction([&](db::Connection& c) {
    // The account first: a password change or deactivation then either revokes what this issues, or
    // has committed before the token's row is read (and has revoked it).
    auto user = repo::lock_user(c, claims.user_id);
    auto row = repo::find_refresh(c, claims.jti);
    if (!row) {
      // We signed it, and it has not expired, yet its row is gone: it was rotated long ago (rotation
      // keeps only the last few used rows of a family) or revoked and purged. Replaying an old token
      // is reuse, however old: end the family (a no-op if it is revoked already).
      repo::revoke_family(c, claims.family, common::now_micros());
      return Outcome::invalid;
    }
    if (row->revoked || row->user_id != claims.user_id || row->family != claims.family) return Outcome::invalid;
    if (!user || !user->active) return Outcome::invalid;
    if (!settings_.rotate_refresh) {
      tokens = {signer_.access_token(user->id, stored_role(user->role), now_seconds()), std::string(token)};
      return Outcome::issued;
    }
    if (row->used || !repo::mark_refresh_used(c, claims.jti, common::now_micros())) {
      // A rotated token came back: whoever holds the family may be a thief. End the family.
      repo::revoke_family(c, row->family, common::now_micros());
      return Outcome::reused;
    }
    tokens = issue(user->id, stored_role(user->role), row->family, c);
    repo::trim_used_refresh(c, row->family, kUsedRefreshKept);
    return Outcome::issued;
  });
  if (outcome == Outcome::reused) throw common::Error("token_invalid", "Token was already used; its session is revoked");
  if (outcome == Outcome::invalid) throw common::Error("token_invalid", "Token is invalid or revoked");
  return tokens;
}

void Service::logout(std::string_view token) {
  auto claims = signer_.verify_refresh(token, now_seconds());
  bool known = database_.transaction([&](db::Connection& c) {
    auto row = repo::find_refresh(c, claims.jti);
    if (!row || row->user_id != claims.user_id) return false;
    repo::revoke_family(c, row->family, common::now_micros());
    return true;
  });
  if (!known) throw common::Error("token_invalid", "Token is invalid or revoked");
}

std::int64_t Service::purge_refresh_tokens(std::int64_t now_micros) {
  constexpr std::int64_t kBatch = 1000;  // rows per statement, so one sweep never holds the writer long
  return database_.transaction([&](db::Connection& c) { return repo::purge_refresh(c, now_micros, kBatch); });
}

User Service::user(std::int64_t id) {
  auto row = database_.read([&](db::Connection& c) { return repo::find_user_by_id(c, id); });
  if (!row || !row->active) throw common::Error("token_invalid", "User not found or inactive");
  return from_row(*row);
}

AccessClaims Service::verify_access(std::string_view token) const { return signer_.verify_access(token, now_seconds()); }

bool Service::set_role(std::string_view email, Role role) {
  auto normalised = lower(trim(email));
  return database_.transaction([&](db::Connection& c) { return repo::set_role(c, normalised, to_string(role)); });
}

}  // namespace auth

namespace auth {

UserPage Service::list_users(const std::optional<std::string>& search, std::int64_t limit,
                             const std::function<std::int64_t(std::int64_t)>& page_offset) {
  return database_.read([&](db::Connection& c) {
    UserPage page;
    page.count = repo::count_users(c, search);
    auto offset = page_offset(page.count);
    for (const auto& row : repo::list_users(c, search, limit, offset)) page.users.push_back(from_row(row));
    return page;
  });
}

User Service::update_user(std::int64_t actor_id, std::int64_t user_id, const UserChange& change) {
  if (user_id == actor_id && ((change.role && *change.role != Role::staff) || (change.active && !*change.active))) {
    throw common::Error("cannot_change_own_account",
                        "You cannot demote or deactivate your own account; ask another staff member");
  }
  auto row = database_.transaction([&](db::Connection& c) {
    if (change.low_stock_alerts && *change.low_stock_alerts) refuse_alerts_for_customers(c, user_id, change.role);
    if (!repo::update_user(c, user_id, role_column(change.role), change.active, change.low_stock_alerts)) {
      return std::optional<repo::UserRow>();
    }
    if (change.active && !*change.active) repo::revoke_user_refresh(c, user_id, common::now_micros());
    return repo::find_user_by_id(c, user_id);
  });
  if (!row) throw common::Error("not_found", "Not found.");
  return from_row(*row);
}

std::vector<AlertRecipient> Service::low_stock_recipients(db::Connection& c) {
  std::vector<AlertRecipient> out;
  for (auto& r : repo::low_stock_recipients(c)) out.push_back({std::move(r.username), std::move(r.email)});
  return out;
}

}  // namespace auth

// Password resets, password changes and verified email addresses (issue #20).
namespace auth {
namespace {

// A link token is 43 characters; anything much longer is not one, and costs nothing but this test.
constexpr std::size_t kMaxLinkToken = 128;

[[noreturn]] void invalid_token() {
  throw common::Error("invalid_token", "This link is invalid, used or expired; ask for a new one");
}

std::string link_with(std::string pattern, std::string_view token) {
  constexpr std::string_view kSlot = "{token}";
  for (auto at = pattern.find(kSlot); at != std::string::npos; at = pattern.find(kSlot, at + token.size())) {
    pattern.replace(at, kSlot.size(), token);
  }
  return pattern;
}

// "1 hour", "30 minutes", "3 days": how long a link works, for people.
std::string for_people(std::chrono::seconds ttl) {
  auto n = ttl.count();
  auto unit = [](std::int64_t k, const char* name) { return std::to_string(k) + " " + name + (k == 1 ? "" : "s"); };
  if (n % 86400 == 0) return unit(n / 86400, "day");
  if (n % 3600 == 0) return unit(n / 3600, "hour");
  return unit(std::max<std::int64_t>(1, n / 60), "minute");
}

// The SHA-256 of a token presented to a route; invalid_token before any database work when it
// cannot be one.
std::string presented_hash(std::string_view token) {
  if (token.empty() || token.size() > kMaxLinkToken) invalid_token();
  return link_token_hash(token);
}

}  // namespace

void Service::send_link(db::Connection& c, AccountEmail kind, const repo::UserRow& user, std::int64_t now) {
  bool reset = kind == AccountEmail::password_reset;
  auto ttl = reset ? settings_.password_reset_ttl : settings_.email_verification_ttl;
  auto token = new_link_token();
  auto expires_at = now + std::chrono::duration_cast<std::chrono::microseconds>(ttl).count();
  repo::insert_account_token(c,
                             {.token_hash = link_token_hash(token),
                              .purpose = reset ? repo::kPasswordResetPurpose : repo::kEmailVerificationPurpose,
                              .user_id = user.id,
                              .email = user.email,
                              .password_version = user.password_changed_at,
                              .expires_at = expires_at},
                             now);
  boost::json::object context{{"username", user.username},
                              {"email", user.email},
                              {"expires_at", common::format_rfc3339(expires_at)},
                              {"valid_for", for_people(ttl)}};
  auto url = link_with(reset ? settings_.password_reset_url : settings_.email_verification_url, token);
  queue_email_(c, kind, user.email, std::move(context), {{reset ? "reset_url" : "verification_url", url}});
}

void Service::request_password_reset(std::string_view email_in, std::string_view client_address) {
  auto email = lower(trim(email_in));
  auto wait = std::max(resets_per_address_.retry_after(client_address), resets_per_email_.retry_after(email));
  if (wait > 0) too_many("Too many password reset requests; try again later", wait);
  resets_per_address_.record(client_address);
  resets_per_email_.record(email);
  // The lookup and a known address's link (a token row, the email rendered, sealed and queued: about a
  // millisecond) come after the answer, which then takes as long for any address: a security audit
  // told known from unknown addresses by the time of three requests each, in 79-93% of cases.
  auto work = [this, email, now = common::now_micros()] {
    database_.transaction([&](db::Connection& c) {
      auto user = repo::find_user_by_email(c, email);
      if (user && user->active && queue_email_) send_link(c, AccountEmail::password_reset, *user, now);
    });
  };
  if (!after_answer_) return work();
  if (!after_answer_(std::move(work))) {
    throw common::Error("too_busy", "The server is too busy for this right now; try again in a moment",
                        {{"retry_after", 1}});
  }
}

void Service::reset_password(std::string_view token, const std::string& password) {
  auto hash = presented_hash(token);
  auto now = common::now_micros();
  // A look first, so that a bad token costs no password hash.
  auto user = database_.read([&](db::Connection& c) {
    return repo::account_token_user(c, hash, repo::kPasswordResetPurpose, now);
  });
  if (!user || !user->active) invalid_token();
  common::FieldErrors errors;
  check_password(errors, "password", password, user->email, user->username);
  errors.raise_if_any();
  auto password_hash = hasher_.hash(password);
  database_.transaction([&](db::Connection& c) {
    auto used = repo::use_account_token(c, hash, repo::kPasswordResetPurpose, common::now_micros());
    if (!used) invalid_token();  // another request used it first, or it expired meanwhile
    auto now = common::now_micros();
    if (!repo::set_password(c, used->user_id, password_hash, used->password_version, used->email, now)) {
      invalid_token();  // the password changed since the link was sent: the link is void (rolls back)
    }
    repo::revoke_user_refresh(c, used->user_id, now);
  });
}

Tokens Service::change_password(std::int64_t user_id, std::string_view current_password,
                                const std::string& new_password, const std::string& client_address) {
  auto user = database_.read([&](db::Connection& c) { return repo::find_user_by_id(c, user_id); });
  if (!user || !user->active) throw common::Error("token_invalid", "User not found or inactive");
  common::FieldErrors errors;
  check_password(errors, "new_password", new_password, user->email, user->username);
  errors.raise_if_any();
  check_login_throttles(user->email, client_address);
  if (!hasher_.verify(current_password, user->password_hash)) {
    record_login_failure(user->email, client_address);
    common::FieldErrors wrong;
    wrong.add("current_password", "Your current password is incorrect.");
    wrong.raise_if_any();
  }
  auto password_hash = hasher_.hash(new_password);
  return database_.transaction([&](db::Connection& c) {
    auto now = common::now_micros();
    if (!repo::set_password(c, user->id, password_hash, user->password_changed_at, "", now)) {
      throw common::Error("password_changed", "The password was changed meanwhile; sign in again");
    }
    // Every family ends, then the one this answer starts: every other session must sign in again.
    repo::revoke_user_refresh(c, user->id, now);
    return issue(user->id, stored_role(user->role), random_id(), c);
  });
}

void Service::verify_email(std::string_view token) {
  auto hash = presented_hash(token);
  database_.transaction([&](db::Connection& c) {
    auto used = repo::use_account_token(c, hash, repo::kEmailVerificationPurpose, common::now_micros());
    if (!used || !repo::mark_email_verified(c, used->user_id, used->email)) invalid_token();
  });
}

void Service::resend_verification(std::int64_t user_id) {
  auto key = std::to_string(user_id);
  if (auto wait = verification_resends_.retry_after(key); wait > 0) {
    too_many("Too many confirmation emails for this account; try again later", wait);
  }
  database_.transaction([&](db::Connection& c) {
    auto user = repo::find_user_by_id(c, user_id);
    if (!user || !user->active) throw common::Error("token_invalid", "User not found or inactive");
    if (user->email_verified) {
      throw common::Error("email_already_verified", "This email address is already confirmed");
    }
    if (queue_email_) send_link(c, AccountEmail::email_verification, *user, common::now_micros());
  });
  verification_resends_.record(key);
}

void Service::send_password_reset(std::int64_t user_id) {
  database_.transaction([&](db::Connection& c) {
    auto user = repo::find_user_by_id(c, user_id);
    if (!user) throw common::Error("not_found", "Not found.");
    if (!user->active) throw common::Error("account_inactive", "This account is deactivated; reactivate it first");
    if (queue_email_) send_link(c, AccountEmail::password_reset, *user, common::now_micros());
  });
}

void Service::require_verified_email(db::Connection& c, std::int64_t user_id) {
  if (!repo::email_verified(c, user_id)) {
    throw common::Error("email_not_verified",
                        "Confirm your email address first: follow the link we sent, or ask for a new one "
                        "(POST /email/verify/resend/)");
  }
}

std::int64_t Service::purge_account_tokens(std::int64_t now_micros) {
  constexpr std::int64_t kBatch = 1000;
  return database_.transaction([&](db::Connection& c) { return repo::purge_account_tokens(c, now_micros, kBatch); });
}

}  // namespace auth
