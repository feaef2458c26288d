#pragma once

#include <string>

namespace db {
class Database;
}
namespace http {
class Router;
}

namespace notify {
class OutboxWorker;
// Staff routes: GET /admin/emails/?status=pending|sending|sent|failed (paginated) and
// POST /admin/emails/{id}/resend/. `public_url` builds the pagination links (empty: the Host header).
void register_routes(http::Router& router, db::Database& database, OutboxWorker& worker);
}  // namespace notify
