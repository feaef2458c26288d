#pragma once

namespace http {
class Router;
}

namespace auth {
class Service;
// /register/, /login/, /token/refresh/, /logout/, /user/, and the bearer-token authenticator.
void register_routes(http::Router& router, Service& service);
}  // namespace auth
