#include "app/config.hpp"

#include "common/currency.hpp"
#include "common/time_zone.hpp"
#include "http/client_address.hpp"
#include "http/cors.hpp"
#include "notify/mail_format.hpp"
#include "notify/mailer.hpp"
#include "payments/gateway.hpp"

#include <boost/url/parse.hpp>

#include <toml.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>

namespace app {

Duration parse_duration(std::string_view text) {
  std::int64_t amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
  if (ec != std::errc{} || end == text.data() || amount < 0) throw std::invalid_argument("not a duration");
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60 * 1000;
  else if (unit == "h") scale = 3600 * 1000;
  else if (unit == "d") scale = 86400 * 1000;
  else throw std::invalid_argument("unknown duration unit");
  // Durations become microseconds and nanoseconds, and are added to times and to each other: past
  // 100 years they overflow there, so that is the ceiling (it also serves as "for ever").
  constexpr std::int64_t kLongest = 36500LL * 86400 * 1000;
  if (amount > kLongest / scale) throw std::invalid_argument("duration too long (at most 36500d)");
  return Duration(amount * scale);
}

std::vector<Duration> parse_duration_list(std::string_view text) {
  std::vector<Duration> list;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = std::min(text.find(',', start), text.size());
    auto part = text.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    try {
      list.push_back(parse_duration(part));
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("\"" + std::string(part) + "\" is not a duration (write e.g. 5s,5m,30m,2h)");
    }
    start = end + 1;
  }
  return list;
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  struct Unit {
    std::int64_t scale;
    const char* suffix;
  };
  for (auto [scale, suffix] : {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % scale == 0) return std::to_string(ms / scale) + suffix;
  }
  return std::to_string(ms) + "ms";
}

namespace {

struct Key {
  std::string name;
  std::string help;
  std::function<void(Config&, const std::string&)> set;  // throws std::invalid_argument with the reason
  std::function<std::string(const Config&)> show;
};

Key text(std::string name, std::string Config::*member, std::string help,
         std::vector<std::string> choices = {}) {
  return {std::move(name), std::move(help),
          [member, choices](Config& c, const std::string& v) {
            if (!choices.empty() && std::find(choices.begin(), choices.end(), v) == choices.end()) {
              std::string allowed;
              for (const auto& choice : choices) allowed += (allowed.empty() ? "" : ", ") + choice;
              throw std::invalid_argument("must be one of: " + allowed);
            }
            c.*member = v;
          },
          [member](const Config& c) { return c.*member; }};
}

Key duration(std::string name, Duration Config::*member, std::string help, Duration minimum = Duration(1)) {
  return {std::move(name), std::move(help),
          [member, minimum](Config& c, const std::string& v) {
            Duration d{};
            try {
              d = parse_duration(v);
            } catch (const std::invalid_argument&) {
              throw std::invalid_argument("invalid duration (write e.g. 500ms, 3s, 15m, 2h, 7d)");
            }
            if (d < minimum) throw std::invalid_argument("must be at least " + format_duration(minimum));
            c.*member = d;
          },
          [member](const Config& c) { return format_duration(c.*member); }};
}

Key integer(std::string name, int Config::*member, int low, int high, std::string help) {
  return {std::move(name), std::move(help),
          [member, low, high](Config& c, const std::string& v) {
            int n = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc{} || end != v.data() + v.size() || n < low || n > high) {
              throw std::invalid_argument("must be a whole number from " + std::to_string(low) + " to " +
                                          std::to_string(high));
            }
            c.*member = n;
          },
          [member](const Config& c) { return std::to_string(c.*member); }};
}

// A text key whose value must also pass `check` (which throws std::invalid_argument with the reason).
Key checked_text(std::string name, std::string Config::*member, std::string help,
                 std::function<void(const std::string&)> check) {
  auto key = text(std::move(name), member, std::move(help));
  key.set = [member, check = std::move(check)](Config& c, const std::string& v) {
    check(v);
    c.*member = v;
  };
  return key;
}

// Links are built on it: an absolute http(s) URL, nothing after its path.
void check_public_url(const std::string& v) {
  if (v.empty()) return;
  auto parsed = boost::urls::parse_absolute_uri(v);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty() ||
      parsed->has_query() || parsed->has_fragment() || parsed->has_userinfo()) {
    throw std::invalid_argument("must be an absolute http(s) URL such as https://shop.example.com");
  }
}

// An account email's link must carry its token somewhere.
void check_link(const std::string& v) {
  if (!v.empty() && v.find("{token}") == std::string::npos) {
    throw std::invalid_argument("must contain {token}, where the link's token goes");
  }
}

// The account emails' keys (issue #20), in a table of their own so that each stays short.
std::vector<Key> account_keys() {
  return {
      checked_text("password_reset_url", &Config::password_reset_url,
                   "link of the password-reset email, with {token} (and {public_url}); empty: "
                   "{public_url}/account/reset-password?token={token}",
                   check_link),
      checked_text("email_verification_url", &Config::email_verification_url,
                   "link of the confirm-your-email message, with {token} (and {public_url}); empty: "
                   "{public_url}/account/verify-email?token={token}",
                   check_link),
      duration("password_reset_ttl", &Config::password_reset_ttl, "how long a password-reset link works",
               Duration(60'000)),
      text("verification_email", &Config::verification_email,
           "on: registration queues a confirm-your-email message (POST /email/verify/resend/ works either way)",
           {"off", "on"}),
      text("require_verified_email", &Config::require_verified_email,
           "true: place_order answers 403 email_not_verified until the account's address is confirmed",
           {"false", "true"}),
  };
}

// The webhooks' keys (issue #19), in a table of their own.
std::vector<Key> webhook_keys() {
  return {
      checked_text("webhook_retry_schedule", &Config::webhook_retry_schedule,
                   "waits after each failed webhook attempt, comma-separated (then the delivery is failed)",
                   [](const std::string& v) {
                     if (parse_duration_list(v).size() > 20) throw std::invalid_argument("at most 20 retries");
                   }),
      text("webhook_allow_private", &Config::webhook_allow_private,
           "true: webhooks may go to loopback, private and link-local addresses (development and tests only)",
           {"false", "true"}),
      duration("webhook_timeout", &Config::webhook_timeout, "longest one webhook attempt may take", Duration(100)),
      duration("webhook_disable_after", &Config::webhook_disable_after,
               "an endpoint whose attempts have all failed for this long is disabled"),
      duration("webhook_keep", &Config::webhook_keep,
               "a webhook event whose deliveries are all over (succeeded or failed) is forgotten after this"),
  };
}

// The `currency` setting names a currency common::Currency knows; the error lists them.
void check_currency(const std::string& v) {
  if (common::Currency::find(v) != nullptr) return;
  std::string known;
  for (const auto& c : common::Currency::all()) known += (known.empty() ? "" : ", ") + std::string(c.code);
  throw std::invalid_argument("unknown currency (known: " + known + ")");
}

// The staff console's keys (issue #22): the shop's time zone, whose days the dashboard and the
// exports count in. The name is checked against the system's tz database when it is set, so a typo
// stops start-up instead of shifting every figure by hours.
std::vector<Key> console_keys() {
  return {
      checked_text("shop_timezone", &Config::shop_timezone,
                   "IANA time zone of the shop's days on the dashboard and in exports, e.g. Europe/Berlin",
                   [](const std::string& v) { (void)common::TimeZone::load(v); }),
  };
}

// The keys of outgoing mail and of what the shop shows people, in keys()'s order.
std::vector<Key> mail_and_shop_keys() {
  return {
      checked_text("smtp_url", &Config::smtp_url,
                   "smtp://HOST:PORT or smtps://USER:PASS@HOST:PORT; empty writes .eml files",
                   [](const std::string& v) {
                     if (!v.empty()) notify::check_smtp_url(v);
                   }),
      duration("smtp_timeout", &Config::smtp_timeout,
               "longest one delivery to the SMTP server may take (a hanging server is given up after this)",
               Duration(100)),
      checked_text("mail_from", &Config::mail_from, "From address of confirmation emails",
                   [](const std::string& v) {
                     if (auto problem = notify::mail_format::mailbox_problem(v)) throw std::invalid_argument(*problem);
                   }),
      text("mail_dir", &Config::mail_dir, "where .eml files go when no SMTP server is configured"),
      checked_text("template_dir", &Config::template_dir,
                   "directory with email templates overriding the built-in ones",
                   [](const std::string& v) {
                     if (!v.empty() && !std::filesystem::is_directory(v)) throw std::invalid_argument("no such directory");
                   }),
      integer("mail_max_attempts", &Config::mail_max_attempts, 1, 1000,
              "delivery attempts of an email before it is marked failed"),
      duration("mail_retry_cap", &Config::mail_retry_cap, "longest wait between two delivery attempts of an email",
               Duration(1000)),
      duration("mail_keep", &Config::mail_keep,
               "an email sent or given up on is forgotten after this (the outbox and the console's Emails page)"),
      checked_text("public_url", &Config::public_url,
                   "base URL for absolute links (pagination); default: from the Host header", check_public_url),
      text("metrics_token", &Config::metrics_token,
           "bearer token /metrics requires; without it production serves /metrics to loopback clients only"),
      text("shop_name", &Config::shop_name, "the shop's name, used in emails"),
      checked_text("currency", &Config::currency,
                   "ISO 4217 code of the shop's prices, shown in emails and the console and sent to the payment "
                   "gateway (USD, EUR, GBP, JPY, ...: README lists them)",
                   check_currency),
      integer("low_stock_threshold", &Config::low_stock_threshold, 0, 1'000'000'000,
              "stock below this is low: the dashboard lists the product, and the sale or edit that takes it below "
              "is reported once (0: never low)"),
  };
}

// Logging, threads and the HTTP server's timeouts.
std::vector<Key> server_keys() {
  return {
      text("log_level", &Config::log_level, "trace, debug, info, warn, error, critical or off",
           {"trace", "debug", "info", "warn", "error", "critical", "off"}),
      text("log_format", &Config::log_format, "text or json", {"text", "json"}),
      integer("threads", &Config::threads, 0, 256, "I/O threads (0: one per core)"),
      integer("workers", &Config::workers, 1, 1024, "threads of the handler pool: database and other blocking work"),
      duration("header_timeout", &Config::header_timeout, "time a client has to send a request's headers"),
      duration("read_timeout", &Config::read_timeout, "time a client has to send a request's body"),
      duration("idle_timeout", &Config::idle_timeout, "an idle keep-alive connection is closed after this"),
      duration("shutdown_timeout", &Config::shutdown_timeout, "time in-flight requests get to finish on SIGTERM"),
  };
}

// HOST:PORT's port; throws std::invalid_argument saying what is wrong.
unsigned port_of(std::string_view listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT");
  unsigned port = 0;
  auto text = listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port > 65535) {
    throw std::invalid_argument("port must be a number from 0 to 65535");
  }
  return port;
}

// HOST:PORT's host, without the brackets of an IPv6 address ("[::1]:8000" -> "::1").
std::string host_of(std::string_view listen) {
  auto host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::string(host);
}

// An address to bind, not a name to look up: an IP literal (IPv6 in brackets) or localhost.
void check_listen(const std::string& v) {
  (void)port_of(v);
  auto host = host_of(v);
  unsigned char address[16];
  const bool ip = inet_pton(v.starts_with('[') ? AF_INET6 : AF_INET, host.c_str(), address) == 1;
  if (!ip && host != "localhost") {
    throw std::invalid_argument("\"" + host + "\" is not an IP address: use 127.0.0.1 (this machine only), 0.0.0.0 (every "
                                "interface), [::] or another address of this machine, then :PORT");
  }
}

void check_database_url(const std::string& v) {
  if (!v.starts_with("sqlite://") && !v.starts_with("postgresql://") && !v.starts_with("postgres://")) {
    throw std::invalid_argument("must start with sqlite:// or postgresql://");
  }
}

const std::vector<Key>& keys() {
  static const std::vector<Key> all = [] {
    std::vector<Key> v = {
      text("env", &Config::env, "development or production (production requires jwt_secret and a payment_gateway URL)",
           {"development", "production"}),
      checked_text("listen", &Config::listen, "address and port to serve on, HOST:PORT", check_listen),
      checked_text("database_url", &Config::database_url, "sqlite://PATH or postgresql://USER:PASS@HOST:PORT/DB",
                   check_database_url),
      integer("database_pool", &Config::database_pool, 1, 256, "database connections per node"),
      text("jwt_secret", &Config::jwt_secret, "HMAC key for tokens, at least 32 bytes (random per process in development)"),
      duration("access_ttl", &Config::access_ttl, "lifetime of access tokens", Duration(1000)),  // whole seconds in a JWT
      duration("refresh_ttl", &Config::refresh_ttl, "lifetime of refresh tokens", Duration(1000)),
      text("refresh_rotation", &Config::refresh_rotation,
           "on: a refresh token works once and its reuse revokes the session; off: the old service's behaviour",
           {"on", "off"}),
      text("password_cost", &Config::password_cost,
           "argon2id cost: owasp (12 MiB, 3 passes), interactive (64 MiB, 2 passes), moderate (256 MiB, 3 passes), "
           "minimum (tests only)",
           {"moderate", "interactive", "owasp", "minimum"}),
      integer("password_threads", &Config::password_threads, 1, 64,
              "password hashes (sign-ins, registrations) computed at once, each with password_cost's memory"),
      integer("password_queue", &Config::password_queue, 0, 10000,
              "sign-ins and registrations that may wait for a password thread; more are answered 503 too_busy"),
      integer("registrations_per_hour", &Config::registrations_per_hour, 0, 100000,
              "registrations one client address may make in an hour (0: no limit)"),
      checked_text("trusted_proxies", &Config::trusted_proxies,
                   "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the "
                   "client (empty: trust none)",
                   [](const std::string& v) { (void)http::TrustedProxies::parse(v); }),
      checked_text("cors_origins", &Config::cors_origins,
                   "comma-separated origins (https://shop.example.com) whose browser pages may call the API, or * "
                   "for any (empty: none)",
                   [](const std::string& v) { (void)http::CorsPolicy::parse(v); }),
      duration("reservation_ttl", &Config::reservation_ttl, "how long an unpaid order holds its stock"),
      duration("sweep_interval", &Config::sweep_interval, "how often expired reservations are released", Duration(10)),
      checked_text("payment_gateway", &Config::payment_gateway,
                   "mock (development only: it takes test cards as payments), or the URL of an HTTP gateway",
                   payments::check_gateway_setting),
      duration("gateway_timeout", &Config::gateway_timeout, "timeout of one gateway call"),
      duration("idempotency_lease", &Config::idempotency_lease,
               "an Idempotency-Key whose request left no answer this long (it died with its process) is taken "
               "over by a retry; at least twice gateway_timeout"),
    };
    auto mail = mail_and_shop_keys();
    v.insert(v.end(), mail.begin(), mail.end());
    for (auto& key : server_keys()) v.push_back(std::move(key));
    auto accounts = account_keys();
    v.insert(v.end(), accounts.begin(), accounts.end());
    for (auto& key : console_keys()) v.push_back(std::move(key));
    for (auto& key : webhook_keys()) v.push_back(std::move(key));
    return v;
  }();
  return all;
}

std::string env_name(const std::string& key) {
  std::string name = "ORDERD_";
  for (char c : key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string flag_name(const std::string& key) {
  std::string name = "--" + key;
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

const Key* find_key(std::string_view name) {
  for (const auto& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

void apply(Config& config, const Key& key, const std::string& value, const std::string& source) {
  try {
    key.set(config, value);
  } catch (const std::invalid_argument& e) {
    // Never echo a secret back, even a malformed one, nor a URL that may carry a password.
    bool secret = key.name == "jwt_secret" || key.name == "metrics_token" || key.name == "database_url" ||
                  key.name == "smtp_url" || key.name == "payment_gateway";
    std::string shown = secret ? "(hidden)" : "\"" + value + "\"";
    throw ConfigError(source + ": " + shown + ": " + e.what());
  }
}

std::string toml_scalar(const toml::value& v) {
  if (v.is_string()) return v.as_string().str;
  if (v.is_integer()) return std::to_string(v.as_integer());
  if (v.is_boolean()) return v.as_boolean() ? "true" : "false";
  throw std::invalid_argument("must be a string or an integer");
}

void apply_file(Config& config, const std::string& path) {
  toml::value root;
  try {
    root = toml::parse(path);
  } catch (const std::exception& e) {
    throw ConfigError("config file " + path + ": " + e.what());
  }
  if (!root.is_table()) throw ConfigError("config file " + path + ": expected key = value lines");
  for (const auto& [name, value] : root.as_table()) {
    const Key* key = find_key(name);
    if (!key) throw ConfigError(path + ": unknown key \"" + name + "\"");
    std::string text;
    try {
      text = toml_scalar(value);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(path + ": " + name + ": " + e.what());
    }
    apply(config, *key, text, path + ": " + name);
  }
}

// Why a production jwt_secret looks typed rather than drawn at random (nullopt: it does not). Anyone
// who guesses the secret signs staff tokens, which are checked without a database read.
std::optional<std::string> weak_secret(std::string_view s) {
  if (s.size() < 32) return "it is shorter than 32 bytes";
  if (std::set<char>(s.begin(), s.end()).size() < 8) return "it has fewer than 8 different characters";
  for (std::size_t period = 1; period <= s.size() / 2; ++period) {
    if (s.substr(period) == s.substr(0, s.size() - period)) return "it repeats a shorter string";
  }
  int run = 1;  // characters in a row that each follow the one before ("01234567", "abcdefgh")
  for (std::size_t i = 1; i < s.size(); ++i) {
    run = s[i] == s[i - 1] + 1 ? run + 1 : 1;
    if (run == 8) return "it holds 8 consecutive characters in order";
  }
  return std::nullopt;
}

void validate(const Config& c) {
  if (auto weak = c.production() ? weak_secret(c.jwt_secret) : std::nullopt) {
    throw ConfigError("jwt_secret: production needs a random secret of at least 32 bytes, and " + *weak +
                      " (ORDERD_JWT_SECRET; e.g. openssl rand -hex 32)");
  }
  if (c.idempotency_lease < 2 * c.gateway_timeout) {
    throw ConfigError("idempotency_lease: must be at least twice gateway_timeout (" +
                      format_duration(c.gateway_timeout) + "), or a retry could take over a payment still running");
  }
  if (c.production() && c.payment_gateway == "mock") {
    throw ConfigError("payment_gateway: production refuses the mock gateway, which takes test cards as payments; "
                      "set ORDERD_PAYMENT_GATEWAY to your gateway's http:// URL");
  }
  if (c.production() && c.password_cost == "minimum") {
    throw ConfigError("password_cost: minimum is for tests; production needs moderate, interactive or owasp");
  }
  if (c.production() && c.webhook_allow_private == "true") {
    throw ConfigError("webhook_allow_private: true is for development and tests; production sends webhooks to "
                      "public addresses only (a loopback, private or metadata address is an SSRF target)");
  }
}

}  // namespace

const common::Currency& Config::shop_currency() const {
  const auto* found = common::Currency::find(currency);
  if (found == nullptr) throw ConfigError("currency: \"" + currency + "\": unknown currency");
  return *found;
}

std::string Config::listen_host() const { return host_of(listen); }

unsigned Config::listen_port() const { return port_of(listen); }

namespace {

// Edits (insertions, deletions, substitutions) that turn `a` into `b`, ignoring case.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::toupper(static_cast<unsigned char>(a[i - 1])) ==
                        std::toupper(static_cast<unsigned char>(b[j - 1]));
      const std::size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

}  // namespace

void refuse_misspelled_env(const std::vector<std::string>& names) {
  constexpr std::string_view kPrefix = "ORDERD_";
  for (const auto& name : names) {
    if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    bool known = false;
    for (const auto& key : keys()) known = known || env_name(key.name) == name;
    if (known) continue;
    // A near miss of a setting is a typo that would otherwise quietly leave the default in place (a
    // shop on SQLite in var/ while it meant PostgreSQL). Other ORDERD_ names may be another tool's.
    const std::string_view suffix = std::string_view(name).substr(kPrefix.size());
    for (const auto& key : keys()) {
      const std::size_t allowed = key.name.size() >= 6 ? 2 : 1;
      if (edit_distance(suffix, key.name) <= allowed) {
        throw ConfigError(name + " is not a setting; did you mean " + env_name(key.name) + "?");
      }
    }
  }
}

std::vector<KeyInfo> config_keys() {
  std::vector<KeyInfo> out;
  Config defaults;
  for (const auto& k : keys()) out.push_back({k.name, env_name(k.name), flag_name(k.name), k.help, k.show(defaults)});
  return out;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Config load_config(const std::optional<std::string>& file, const std::map<std::string, std::string>& flags,
                   const EnvLookup& env) {
  Config config;
  if (file) {
    if (!std::filesystem::exists(*file)) throw ConfigError("config file " + *file + " does not exist");
    if (std::filesystem::is_directory(*file)) throw ConfigError("config file " + *file + " is a directory");
    apply_file(config, *file);
  } else if (std::filesystem::exists("orderd.toml")) {
    apply_file(config, "orderd.toml");
  }
  for (const auto& key : keys()) {
    auto name = env_name(key.name);
    if (auto value = env(name)) apply(config, key, *value, name);
  }
  for (const auto& [name, value] : flags) {
    const Key* key = find_key(name);
    if (!key) throw ConfigError("unknown configuration key \"" + name + "\"");
    apply(config, *key, value, flag_name(name));
  }
  validate(config);
  return config;
}

}  // namespace app
