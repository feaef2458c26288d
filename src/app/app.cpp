#include "app/app.hpp"

#include "app/logging.hpp"
#include "auth/password.hpp"
#include "auth/routes.hpp"
#include "auth/service.hpp"
#include "auth/tokens.hpp"
#include "common/error.hpp"
#include "common/metrics.hpp"
#include "db/database.hpp"
#include "db/migrate.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "notify/mailer.hpp"
#include "notify/routes.hpp"
#include "notify/templates.hpp"
#include "notify/worker.hpp"
#include "ops/routes.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

namespace app {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

std::unique_ptr<db::Database> open_database(const Config& config) {
  db::Options options;
  options.pool_size = static_cast<std::size_t>(config.database_pool);
  auto database = db::open(config.database_url, options);
  int applied = db::migrate(*database);
  if (applied > 0) spdlog::info("database migrated ({} migrations applied)", applied);
  return database;
}

std::string jwt_secret(const Config& config) {
  if (!config.jwt_secret.empty()) return config.jwt_secret;
  spdlog::warn("no jwt_secret configured: using a random one for this process (development only); "
               "tokens will not survive a restart");
  return auth::random_id() + auth::random_id();
}

// The accounts module and what it is made of, built the same way for serve and the CLI.
struct Accounts {
  explicit Accounts(const Config& config, db::Database& database, std::string secret)
      : hasher(auth::parse_password_cost(config.password_cost)),
        signer(std::move(secret), duration_cast<seconds>(config.access_ttl), duration_cast<seconds>(config.refresh_ttl)),
        service(database, hasher, signer, {.rotate_refresh = config.refresh_rotation == "on"}) {}
  auth::PasswordHasher hasher;
  auth::TokenSigner signer;
  auth::Service service;
};

// Confirmation emails: checked templates, the mailer the configuration names, and the outbox worker.
// Templates load first, so a broken one stops start-up with a message naming its file.
struct Emails {
  Emails(const Config& config, db::Database& database, common::Metrics& metrics)
      : templates(notify::Templates::load(config.template_dir, config.shop_name)),
        mailer(notify::make_mailer(config.smtp_url, config.mail_dir)),
        worker(database, templates, *mailer, metrics,
               {.mail_from = config.mail_from,
                .max_attempts = config.mail_max_attempts,
                .retry_cap = config.mail_retry_cap}) {
    spdlog::info("email: {} (templates: {}, {}, {})", mailer->describe(), templates.subject_source(),
                 templates.html_source(), templates.text_source());
  }
  notify::Templates templates;
  std::unique_ptr<notify::Mailer> mailer;
  notify::OutboxWorker worker;  // stops (and joins) when Emails goes out of scope
};

http::ServerOptions server_options(const Config& config) {
  http::ServerOptions o;
  o.host = config.listen_host();
  o.port = static_cast<std::uint16_t>(config.listen_port());
  o.io_threads = config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.worker_threads = config.workers;
  o.header_timeout = config.header_timeout;
  o.read_timeout = config.read_timeout;
  o.idle_timeout = config.idle_timeout;
  o.shutdown_timeout = config.shutdown_timeout;
  return o;
}

std::string read_line_without_echo(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return line;
}

std::string read_password() {
  if (isatty(STDIN_FILENO)) {
    auto first = read_line_without_echo("Password: ");
    if (read_line_without_echo("Password (again): ") != first) throw std::runtime_error("the passwords differ");
    return first;
  }
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Runs a CLI command, turning domain errors into a readable message and exit code 1.
int report(const std::function<int()>& command) {
  try {
    return command();
  } catch (const common::Error& e) {
    std::cerr << "orderd: " << e.what();
    if (!e.details().empty()) std::cerr << " " << boost::json::serialize(e.details());
    std::cerr << "\n";
    return 1;
  }
}

}  // namespace

int serve(const Config& config) {
  auto started = std::chrono::steady_clock::now();
  init_logging(config.log_level, config.log_format);
  auto database = open_database(config);
  common::Metrics metrics;
  Accounts accounts(config, *database, jwt_secret(config));
  Emails email(config, *database, metrics);

  http::Router router;
  ops::register_routes(router, *database, metrics);
  auth::register_routes(router, accounts.service);
  notify::register_routes(router, *database, email.worker, config.public_url);

  http::Server server(server_options(config), router, metrics);
  auto port = server.listen();
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("orderd {} listening on {}:{} ({} environment, ready in {:.1f} ms)", ORDERD_VERSION,
               config.listen_host(), port, config.env, ms);
  email.worker.start();
  server.run();
  email.worker.stop();
  return 0;
}

int migrate(const Config& config) {
  init_logging(config.log_level, config.log_format);
  auto database = db::open(config.database_url);
  int applied = db::migrate(*database);
  spdlog::info("{} migrations applied; schema is up to date", applied);
  return 0;
}

int user_create(const Config& config, const NewUserCommand& command) {
  init_logging("warn", config.log_format);
  auto database = open_database(config);
  Accounts accounts(config, *database, "unused: the CLI issues no tokens");
  return report([&] {
    auth::NewUser user{command.email, command.username, read_password(), std::nullopt,
                       command.staff ? "staff" : "customer"};
    auto created = accounts.service.register_user(std::move(user));
    std::cout << "created " << created.role << " user " << created.id << " <" << created.email << ">\n";
    return 0;
  });
}

int user_set_role(const Config& config, const std::string& email, const std::string& role) {
  init_logging("warn", config.log_format);
  auto database = open_database(config);
  Accounts accounts(config, *database, "unused: the CLI issues no tokens");
  return report([&] {
    if (!accounts.service.set_role(email, role)) {
      std::cerr << "orderd: no user with email " << email << "\n";
      return 1;
    }
    std::cout << email << " is now " << role << "\n";
    return 0;
  });
}

}  // namespace app
