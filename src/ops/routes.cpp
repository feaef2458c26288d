#include "ops/routes.hpp"

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "db/database.hpp"
#include "http/client_address.hpp"
#include "http/router.hpp"

#include <sodium.h>
#include <stdexcept>

#include <string_view>

namespace ops {
namespace {

// Whether the client (Request::remote_address) is on this machine. That is the TCP peer, or behind a
// trusted proxy the client the proxy names: a request relayed by a local nginx is not local, and a
// header from anyone else is ignored, so no header makes a remote client local. IPv4 peers of an
// IPv6 socket appear as ::ffff:127.x.y.z.
bool is_loopback(std::string_view address) {
  // The address matching of trusted_proxies: an IPv4 address also matches in its ::ffff: form.
  static const auto kLoopback = http::TrustedProxies::parse("127.0.0.0/8, ::1");
  return kLoopback.contains(address);
}

// Compares digests of both, in constant time: the time taken reveals neither a matching prefix of
// the token nor its length.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char a[crypto_generichash_BYTES];
  unsigned char b[crypto_generichash_BYTES];
  crypto_generichash(a, sizeof a, reinterpret_cast<const unsigned char*>(given.data()), given.size(), nullptr, 0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), nullptr,
                     0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

// Throws 401 (token configured, missing or wrong) or 403 (no token, production, remote peer).
void check_metrics_access(const http::Request& request, const MetricsAccess& access) {
  if (!access.token.empty()) {
    auto token = http::bearer_token(request);
    if (!token || !same_secret(*token, access.token)) {
      throw common::Error("not_authenticated", "/metrics needs 'Authorization: Bearer <metrics_token>'");
    }
    return;
  }
  if (access.loopback_only && !is_loopback(request.remote_address)) {
    throw common::Error("forbidden", "/metrics is served to loopback clients only; set metrics_token to scrape it");
  }
}

http::Response healthz(http::Request&) { return http::json_response(200, {{"status", "ok"}}); }

http::Response readyz(db::Database& database, http::Request&) {
  if (!database.ping()) throw common::Error("unavailable", "The database is not answering");
  return http::json_response(200, {{"status", "ready"}});
}

http::Response metrics_page(common::Metrics& metrics, const MetricsAccess& access, http::Request& request) {
  check_metrics_access(request, access);
  http::Response r;
  r.body = metrics.render();
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

// PostgreSQL's listener for other nodes' catalogue changes (db/postgres.hpp): while it is not
// connected, catalogue pages are not kept; the counts show it hears and reconnects.
void register_listener_gauges(db::Database& database, common::Metrics& metrics) {
  metrics.gauge("orderd_db_change_listener_connected",
                "1 while the listener for other nodes' catalogue changes is connected (PostgreSQL).",
                [&database] { return database.listener_stats().connected ? 1.0 : 0.0; });
  metrics.gauge("orderd_db_change_notifications", "Change notifications received so far (PostgreSQL).",
                [&database] { return static_cast<double>(database.listener_stats().notifications); });
  metrics.gauge("orderd_db_change_notifications_own",
                "Of those, this node's own catalogue changes heard back: their commits retired the pages already.",
                [&database] { return static_cast<double>(database.listener_stats().own); });
  metrics.gauge("orderd_db_change_listener_connects", "Connections the change listener has made so far (PostgreSQL).",
                [&database] { return static_cast<double>(database.listener_stats().connects); });
}

}  // namespace

void register_routes(http::Router& router, db::Database& database, common::Metrics& metrics, MetricsAccess access) {
  using http::Access;
  using http::handle;
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  metrics.gauge("orderd_db_pool_connections_in_use", "Database connections lent out right now.",
                [&database] { return static_cast<double>(database.pool_stats().in_use); });
  metrics.gauge("orderd_db_pool_connections_max", "The most database connections this node opens.",
                [&database] { return static_cast<double>(database.pool_stats().size); });
  if (database.dialect() == db::Dialect::postgres) register_listener_gauges(database, metrics);
  router.add(http::get("/healthz", Access::anyone, healthz).runs(http::Runs::io_thread));
  router.add(http::get("/readyz", Access::anyone, handle(readyz, database)));
  router.add(http::get("/metrics", Access::anyone, handle(metrics_page, metrics, std::move(access))));
}

}  // namespace ops
