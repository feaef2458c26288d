#pragma once
// The staff console: GET /admin/ (a single page, compiled into the binary) and its files under
// /admin/assets/. The page talks to the staff API with the signed-in user's token; the routes here
// serve static memory only and need no authentication.

namespace http {
class Router;
}

namespace console {
void register_routes(http::Router& router);
}
