#include "app/app.hpp"

#include "app/logging.hpp"
#include "common/metrics.hpp"
#include "db/database.hpp"
#include "db/migrate.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "ops/routes.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

namespace app {
namespace {

std::unique_ptr<db::Database> open_database(const Config& config) {
  db::Options options;
  options.pool_size = static_cast<std::size_t>(config.database_pool);
  auto database = db::open(config.database_url, options);
  int applied = db::migrate(*database);
  if (applied > 0) spdlog::info("database migrated ({} migrations applied)", applied);
  return database;
}

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

}  // namespace

int serve(const Config& config) {
  auto started = std::chrono::steady_clock::now();
  init_logging(config.log_level, config.log_format);
  auto database = open_database(config);
  common::Metrics metrics;

  http::Router router;
  ops::register_routes(router, *database, metrics);

  http::Server server(server_options(config), router, metrics);
  auto port = server.listen();
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("orderd {} listening on {}:{} ({} environment, ready in {:.1f} ms)", ORDERD_VERSION,
               config.listen_host(), port, config.env, ms);
  server.run();
  return 0;
}

int migrate(const Config& config) {
  init_logging(config.log_level, config.log_format);
  auto database = db::open(config.database_url);
  int applied = db::migrate(*database);
  spdlog::info("{} migrations applied; schema is up to date", applied);
  return 0;
}

}  // namespace app
