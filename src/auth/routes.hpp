#pragma once
// The account routes and the authenticator; the staff handlers for /admin/users/ (see admin/routes.cpp).

#include "auth/service.hpp"
#include "http/router.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace auth {
class Service;
// /register/, /login/, /token/refresh/, /logout/, /user/; /password/reset/ (and confirm/),
// /password/change/, /email/verify/ (and resend/), and the two /account/ pages (auth/pages.hpp).
void register_routes(http::Router& router, Service& service);

// Resolves "Authorization: Bearer <access token>" to the user it was issued to (401 otherwise); the
// app installs it on the router (http::Router::set_authenticator).
http::Router::Authenticator authenticator(Service& service);

// The staff handlers of /admin/users/ (GET, paginated, ?search=) and /admin/users/{id}/ (PATCH role
// and/or is_active), registered by admin/routes.cpp's /admin table.
http::Response list_users(Service& service, http::Request& request);
http::Response update_user(Service& service, http::Request& request);
// POST /admin/users/{id}/password-reset/: staff send the account a reset link (202).
http::Response send_password_reset(Service& service, http::Request& request);

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
