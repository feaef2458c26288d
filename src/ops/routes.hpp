#pragma once
// Operations routes: /healthz, /readyz, /metrics.

#include <string>

namespace common {
class Metrics;
}
namespace db {
class Database;
}
namespace http {
class Router;
}

namespace ops {

// Who may read /metrics (the configuration's metrics_token, and whether this is production).
struct MetricsAccess {
  std::string token;           // set: "Authorization: Bearer <token>" is required (401 otherwise)
  bool loopback_only = false;  // without a token: only loopback clients (403 forbidden otherwise)
};

void register_routes(http::Router& router, db::Database& database, common::Metrics& metrics,
                     MetricsAccess access = {});

}  // namespace ops
