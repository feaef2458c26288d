#include "auth/routes.hpp"

#include "auth/service.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/fields.hpp"
#include "http/pagination.hpp"
#include "http/router.hpp"

#include <boost/json/array.hpp>

#include <strings.h>

namespace auth {
namespace {

using http::Access;
using http::Body;
using http::Method;
using http::Request;

boost::json::value nullable(const std::optional<std::string>& s) {
  return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

boost::json::object user_body(const User& u) {
  return {{"id", u.id}, {"email", u.email}, {"username", u.username}, {"phone_number", nullable(u.phone_number)}};
}

// What staff see of an account (GET /admin/users/).
boost::json::object staff_user_body(const User& u) {
  auto body = user_body(u);
  body["role"] = u.role;
  body["is_active"] = u.active;
  body["date_joined"] = common::format_rfc3339(u.created_at);
  return body;
}

UserChange change_from(const Request& q) {
  http::Fields f(q.json);
  UserChange change;
  change.role = f.text("role", false);
  if (change.role && *change.role != "staff" && *change.role != "customer") {
    f.error("role", "\"" + *change.role + "\" is not a valid choice: staff or customer.");
  }
  if (const auto* active = f.raw("is_active"); active && !active->is_null()) {
    if (active->is_bool()) change.active = active->get_bool();
    else f.error("is_active", "Must be a valid boolean.");
  }
  if (!change.role && !change.active && f.ok()) f.error("non_field_errors", "Give role and/or is_active.");
  f.check();
  return change;
}

// The email field of a request: longer than any address can be is a validation_error before any
// other work (a megabyte-long email must cost nothing but its parse).
std::optional<std::string> email_field(http::Fields& f) {
  auto email = f.text("email");
  if (email && email->size() > kMaxEmailBytes) {
    f.error("email", "Ensure this field has no more than " + std::to_string(kMaxEmailBytes) + " characters.");
    email.reset();
  }
  return email;
}

}  // namespace

NewUser new_user_from_json(const boost::json::value& body) {
  http::Fields f(body);
  NewUser user;
  auto email = email_field(f);
  auto username = f.text("username");
  auto password = f.text("password");
  auto phone = f.text("phone_number", false);
  f.check();
  user.email = std::move(*email);
  user.username = std::move(*username);
  user.password = std::move(*password);
  user.phone_number = std::move(phone);
  return user;
}

Credentials credentials_from_json(const boost::json::value& body) {
  http::Fields f(body);
  auto email = email_field(f);
  auto password = f.text("password");
  f.check();
  return {std::move(*email), std::move(*password)};
}

std::string refresh_from_json(const boost::json::value& body) {
  http::Fields f(body);
  auto token = f.text("refresh");
  f.check();
  return *token;
}

void register_routes(http::Router& router, Service& service) {
  router.set_authenticator([&service](const Request& q) -> http::Principal {
    std::string_view header = q.authorization;
    if (header.empty()) throw common::Error("not_authenticated", "Authentication credentials were not provided.");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || strncasecmp(header.data(), kBearer.data(), kBearer.size()) != 0) {
      throw common::Error("not_authenticated", "Authorization header must be 'Bearer <access token>'");
    }
    auto claims = service.verify_access(header.substr(kBearer.size()));
    return {.user_id = claims.user_id, .staff = claims.role == "staff"};
  });

  router.add({.method = Method::post, .path = "/register/", .body = Body::json,
              .handler = [&service](Request& q) {
                auto user = service.register_user(new_user_from_json(q.json), q.remote_address);
                return http::json_response(201, user_body(user));
              },
              .runs = http::Runs::slow_lane});

  router.add({.method = Method::post, .path = "/login/", .body = Body::json,
              .handler = [&service](Request& q) {
                auto credentials = credentials_from_json(q.json);
                auto tokens = service.login(credentials.email, credentials.password, q.remote_address);
                return http::json_response(200, {{"refresh", tokens.refresh}, {"access", tokens.access}});
              },
              .runs = http::Runs::slow_lane});

  router.add({.method = Method::post, .path = "/token/refresh/", .body = Body::json, .handler = [&service](Request& q) {
                auto tokens = service.refresh(refresh_from_json(q.json));
                return http::json_response(200, {{"access", tokens.access}, {"refresh", tokens.refresh}});
              }});

  router.add({.method = Method::post, .path = "/logout/", .body = Body::json, .handler = [&service](Request& q) {
                service.logout(refresh_from_json(q.json));
                return http::no_content();
              }});

  router.add({.method = Method::get, .path = "/admin/users/", .access = Access::staff,
              .handler = [&service](Request& q) {
                http::Page page(q);
                std::optional<std::string> search;
                if (auto s = q.query_param("search"); s && !s->empty()) search = std::string(*s);
                auto found = service.list_users(search, page.size(), [&](std::int64_t n) { return page.offset(n); });
                boost::json::array results;
                for (const auto& u : found.users) results.push_back(staff_user_body(u));
                return http::json_response(200, page.body(found.count, std::move(results)));
              }});

  router.add({.method = Method::patch, .path = "/admin/users/{id}/", .access = Access::staff, .body = Body::json,
              .handler = [&service](Request& q) {
                auto id = q.id_param();
                auto change = change_from(q);
                return http::json_response(200, staff_user_body(service.update_user(q.user().user_id, id, change)));
              }});

  router.add({.method = Method::get, .path = "/user/", .access = Access::user, .handler = [&service](Request& q) {
                return http::json_response(200, user_body(service.user(q.user().user_id)));
              }});
}

}  // namespace auth
