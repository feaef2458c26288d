#pragma once

#include "auth/service.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace http {
class Router;
}

namespace auth {
class Service;
// /register/, /login/, /token/refresh/, /logout/, /user/, and the bearer-token authenticator.
void register_routes(http::Router& router, Service& service);

// The bodies of those routes; each throws common::Error validation_error naming every bad field.
// Public for the fuzz target tests/fuzz/route_bodies.cpp.
struct Credentials {
  std::string email;
  std::string password;
};
NewUser new_user_from_json(const boost::json::value& body);        // POST /register/
Credentials credentials_from_json(const boost::json::value& body);  // POST /login/
std::string refresh_from_json(const boost::json::value& body);      // POST /token/refresh/, /logout/
}  // namespace auth
