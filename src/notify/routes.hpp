#pragma once

namespace http {
class Router;
}

namespace notify {
class Service;
// Staff routes: GET /admin/emails/?status=pending|sending|sent|failed (paginated),
// POST /admin/emails/{id}/resend/ and GET /admin/emails/{id}/preview/ (the message rendered with the
// current templates, as the worker would send it now).
void register_routes(http::Router& router, Service& service);
}  // namespace notify
