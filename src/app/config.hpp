#pragma once
// Configuration: defaults < TOML file < ORDERD_* environment < command-line flags.
// Every key is declared once in config.cpp (name, help, parser), so the file, the environment,
// the flags and the README's table can never disagree.

#include "common/currency.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace app {

using Duration = std::chrono::milliseconds;

// "500ms", "3s", "15m", "2h", "7d" (a bare number is not accepted: the unit must be explicit).
Duration parse_duration(std::string_view text);
// "5s,5m,30m" -> its durations (webhook_retry_schedule); throws std::invalid_argument naming the bad part.
std::vector<Duration> parse_duration_list(std::string_view text);
std::string format_duration(Duration d);

struct Config {
  std::string env = "development";  // development | production
  std::string listen = "127.0.0.1:8000";
  std::string database_url = "sqlite://var/orderd.db";
  int database_pool = 8;
  std::string jwt_secret;
  Duration access_ttl = std::chrono::minutes(15);
  Duration refresh_ttl = std::chrono::hours(24 * 7);
  std::string refresh_rotation = "on";   // on | off (the old service's clients re-use refresh tokens)
  std::string password_cost = "owasp";  // owasp | interactive | moderate | minimum (development only)
  int password_threads = 2;             // the server's slow lane (http::Runs::slow_lane)
  int password_queue = 64;
  int registrations_per_hour = 10;      // per client address; 0: no limit
  std::string trusted_proxies;          // http::TrustedProxies::parse
  std::string cors_origins;             // http::CorsPolicy::parse
  Duration reservation_ttl = std::chrono::minutes(15);
  Duration sweep_interval = std::chrono::seconds(10);
  std::string payment_gateway = "mock";  // refused in production (it takes test cards as payments)
  Duration gateway_timeout = std::chrono::seconds(10);
  Duration idempotency_lease = std::chrono::minutes(2);
  std::string smtp_url;
  Duration smtp_timeout = std::chrono::seconds(30);  // one SMTP delivery, start to end (connecting: at most 10 s)
  std::string mail_from = "orderd <no-reply@localhost>";
  std::string mail_dir = "var/mail";
  std::string template_dir;
  int mail_max_attempts = 500;  // about 4 hours of a mail server down at the 30 s cap; then 'failed'
  Duration mail_retry_cap = std::chrono::seconds(30);  // longest wait between two delivery attempts
  std::string public_url;
  // Accounts (issue #20): the links of the two account emails ({token}; {public_url} is filled in),
  // empty: orderd's own pages under public_url.
  std::string password_reset_url;
  std::string email_verification_url;
  Duration password_reset_ttl = std::chrono::hours(1);
  std::string verification_email = "on";       // on: registration queues a "confirm your email" message
  std::string require_verified_email = "false";  // true: place_order needs a verified address
  // Webhooks (issue #19, docs/webhooks.md).
  std::string webhook_retry_schedule = "5s,5m,30m,2h,5h,10h,10h";  // waits after each failed attempt
  std::string webhook_allow_private = "false";  // true: loopback and private targets allowed (tests, development)
  Duration webhook_timeout = std::chrono::seconds(15);  // one delivery attempt, connect to answer
  Duration webhook_disable_after = std::chrono::hours(24 * 5);  // only failures this long disable an endpoint
  Duration mail_keep = std::chrono::hours(24 * 30);     // a sent or failed email is kept this long
  Duration webhook_keep = std::chrono::hours(24 * 30);  // a finished event and its deliveries are kept this long
  std::string metrics_token;  // when set, /metrics needs "Authorization: Bearer <token>"
  std::string shop_name = "orderd shop";
  std::string currency = "USD";  // ISO 4217, one of common::Currency's table (checked when set)
  int low_stock_threshold = 5;    // stock below this is "low": the dashboard's list, alerts, webhooks
  std::string shop_timezone = "UTC";  // IANA name (issue #22): the dashboard's and the exports' days
  std::string log_level = "info";
  std::string log_format = "text";
  int threads = 0;  // I/O threads; 0: one per core
  int workers = 8;  // the handler pool's threads, for database and other blocking work (an older name)
  Duration header_timeout = std::chrono::seconds(10);
  Duration read_timeout = std::chrono::seconds(30);
  Duration idle_timeout = std::chrono::seconds(60);
  Duration shutdown_timeout = std::chrono::seconds(30);

  std::string listen_host() const;
  const common::Currency& shop_currency() const;  // the `currency` setting's row
  unsigned listen_port() const;
  bool production() const { return env == "production"; }
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KeyInfo {
  std::string name;     // TOML key, e.g. access_ttl
  std::string env;      // ORDERD_ACCESS_TTL
  std::string flag;     // --access-ttl
  std::string help;
  std::string default_value;
};
std::vector<KeyInfo> config_keys();

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

// Throws ConfigError for an ORDERD_ variable that is not a setting but nearly spells one
// (ORDERD_DATABASE_URl, ORDERD_DATABSE_URL); other ORDERD_ names are left to whoever set them.
void refuse_misspelled_env(const std::vector<std::string>& names);

// Builds the configuration from its four layers; throws ConfigError naming the offending key.
// `file`: an explicit --config path (must exist); without it ./orderd.toml is read when present.
Config load_config(const std::optional<std::string>& file, const std::map<std::string, std::string>& flags,
                   const EnvLookup& env = process_env);

}  // namespace app
