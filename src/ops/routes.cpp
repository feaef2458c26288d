#include "ops/routes.hpp"

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "db/database.hpp"
#include "http/router.hpp"

namespace ops {

void register_routes(http::Router& router, db::Database& database, common::Metrics& metrics) {
  using http::Method;
  metrics.gauge("orderd_db_pool_connections_in_use", "Database connections lent out right now.",
                [&database] { return static_cast<double>(database.pool_stats().in_use); });
  metrics.gauge("orderd_db_pool_connections_max", "The most database connections this node opens.",
                [&database] { return static_cast<double>(database.pool_stats().size); });
  router.add({.method = Method::get,
              .path = "/healthz",
              .handler = [](http::Request&) { return http::json_response(200, {{"status", "ok"}}); },
              .runs = http::Runs::io_thread});
  router.add({.method = Method::get, .path = "/readyz", .handler = [&database](http::Request&) {
                if (!database.ping()) throw common::Error("unavailable", "The database is not answering");
                return http::json_response(200, {{"status", "ready"}});
              }});
  router.add({.method = Method::get, .path = "/metrics", .handler = [&metrics](http::Request&) {
                http::Response r;
                r.body = metrics.render();
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                return r;
              }});
}

}  // namespace ops
