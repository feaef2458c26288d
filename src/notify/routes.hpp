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
class Templates;
// Staff routes: GET /admin/emails/?status=pending|sending|sent|failed (paginated),
// POST /admin/emails/{id}/resend/ and GET /admin/emails/{id}/preview/ (the message rendered with the
// current templates, as the worker would send it now).
void register_routes(http::Router& router, db::Database& database, OutboxWorker& worker, const Templates& templates);
}  // namespace notify
