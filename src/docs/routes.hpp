#pragma once
// API documentation routes: /openapi.json, /docs (Swagger UI) and the files /docs loads, all
// compiled into the binary (docs/embedded.hpp).

namespace http {
class Router;
}

namespace docs {
void register_routes(http::Router& router);
}
