#pragma once
// Operations routes: /healthz, /readyz, /metrics.

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
void register_routes(http::Router& router, db::Database& database, common::Metrics& metrics);
}
