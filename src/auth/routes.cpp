#include "auth/routes.hpp"

#include "auth/pages.hpp"
#include "auth/service.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/fields.hpp"
#include "http/pagination.hpp"
#include "http/router.hpp"

#include <boost/json/array.hpp>

namespace auth {
namespace {

using http::Access;
using http::Request;
using http::Runs;

boost::json::value nullable(const std::optional<std::string>& s) {
  return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

// The old API's body of an account (POST /register/ answers exactly this).
boost::json::object user_body(const User& u) {
  return {{"id", u.id}, {"email", u.email}, {"username", u.username}, {"phone_number", nullable(u.phone_number)}};
}

// What staff see of an account (GET /admin/users/). A staff account also shows its low-stock email
// opt-in (issue #22); a customer's row has none, since customers get no such email.
boost::json::object staff_user_body(const User& u) {
  auto body = user_body(u);
  body["role"] = to_string(u.role);
  body["is_active"] = u.active;
  body["email_verified"] = u.email_verified;
  body["date_joined"] = common::format_rfc3339(u.created_at);
  if (u.role == Role::staff) body["low_stock_alerts"] = u.low_stock_alerts;
  return body;
}

std::optional<bool> optional_bool(http::Fields& f, std::string_view name) {
  const auto* value = f.raw(name);
  if (!value || value->is_null()) return std::nullopt;
  if (value->is_bool()) return value->get_bool();
  f.error(name, "Must be a valid boolean.");
  return std::nullopt;
}

UserChange change_from(const Request& q) {
  http::Fields f(q.json);
  UserChange change;
  if (auto role = f.text("role", false)) {
    change.role = parse_role(*role);
    if (!change.role) f.error("role", "\"" + *role + "\" is not a valid choice: staff or customer.");
  }
  change.active = optional_bool(f, "is_active");
  change.low_stock_alerts = optional_bool(f, "low_stock_alerts");
  if (!change.role && !change.active && !change.low_stock_alerts && f.ok()) {
    f.error("non_field_errors", "Give role, is_active and/or low_stock_alerts.");
  }
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

namespace {

http::Response register_user(Service& service, Request& q) {
  auto user = service.register_user(new_user_from_json(q.json), q.remote_address);
  return http::json_response(201, user_body(user));
}

http::Response login(Service& service, Request& q) {
  auto credentials = credentials_from_json(q.json);
  auto tokens = service.login(credentials.email, credentials.password, q.remote_address);
  return http::json_response(200, {{"refresh", tokens.refresh}, {"access", tokens.access}});
}

http::Response refresh(Service& service, Request& q) {
  auto tokens = service.refresh(refresh_from_json(q.json));
  return http::json_response(200, {{"access", tokens.access}, {"refresh", tokens.refresh}});
}

http::Response logout(Service& service, Request& q) {
  service.logout(refresh_from_json(q.json));
  return http::no_content();
}

http::Response current_user(Service& service, Request& q) {
  auto user = service.user(q.user().user_id);
  // The old API's body plus whether the address was confirmed (issue #20): clients ignore what they
  // do not know, and a shop that starts verifying needs no client change.
  auto body = user_body(user);
  body["email_verified"] = user.email_verified;
  return http::json_response(200, body);
}

// Password resets, password changes and verified addresses (issue #20). The reset request's answer is
// the same whether or not an account has the address.
constexpr std::string_view kResetQueued =
    "If an active account uses this address, a link to reset its password is on its way to it.";

http::Response request_reset(Service& service, Request& q) {
  http::Fields f(q.json);
  auto email = email_field(f);
  f.check();
  service.request_password_reset(*email, q.remote_address);
  return http::json_response(202, {{"detail", kResetQueued}});
}

http::Response confirm_reset(Service& service, Request& q) {
  http::Fields f(q.json);
  auto token = f.text("token");
  auto password = f.text("password");
  f.check();
  service.reset_password(*token, *password);
  return http::no_content();
}

http::Response change_password(Service& service, Request& q) {
  http::Fields f(q.json);
  auto current = f.text("current_password");
  auto next = f.text("new_password");
  f.check();
  auto tokens = service.change_password(q.user().user_id, *current, *next, q.remote_address);
  return http::json_response(200, {{"refresh", tokens.refresh}, {"access", tokens.access}});
}

http::Response verify_email(Service& service, Request& q) {
  http::Fields f(q.json);
  auto token = f.text("token");
  f.check();
  service.verify_email(*token);
  return http::no_content();
}

http::Response resend_verification(Service& service, Request& q) {
  service.resend_verification(q.user().user_id);
  return http::json_response(202, {{"detail", "A new confirmation link is on its way to your email address."}});
}

}  // namespace

http::Response send_password_reset(Service& service, Request& q) {
  service.send_password_reset(q.id_param());
  return http::json_response(202, {{"detail", "A password reset link is on its way to the account's address."}});
}

http::Router::Authenticator authenticator(Service& service) {
  return [&service](const Request& q) -> http::Principal {
    if (q.authorization.empty()) {
      throw common::Error("not_authenticated", "Authentication credentials were not provided.");
    }
    if (q.authorization_repeated) throw common::Error("not_authenticated", "Send one Authorization header.");
    auto token = http::bearer_token(q);
    if (!token) throw common::Error("not_authenticated", "Authorization header must be 'Bearer <access token>'");
    auto claims = service.verify_access(*token);
    return {.user_id = claims.user_id, .staff = claims.role == Role::staff};
  };
}


http::Response list_users(Service& service, Request& q) {
  http::Page page(q);
  std::optional<std::string> search;
  if (auto s = q.query_param("search"); s && !s->empty()) search = std::string(*s);
  auto found = service.list_users(search, page.size(), [&](std::int64_t n) { return page.offset(n); });
  boost::json::array results;
  for (const auto& u : found.users) {
    results.push_back(staff_user_body(u));
  }
  return http::json_response(200, page.body(found.count, std::move(results)));
}

http::Response update_user(Service& service, Request& q) {
  auto id = q.id_param();
  auto change = change_from(q);
  return http::json_response(200, staff_user_body(service.update_user(q.user().user_id, id, change)));
}

void register_routes(http::Router& router, Service& service) {
  using http::handle;
  router.add(http::post("/register/", Access::anyone, handle(register_user, service)).json_or_form().runs(Runs::slow_lane));
  router.add(http::post("/login/", Access::anyone, handle(login, service)).json_or_form().runs(Runs::slow_lane));
  router.add(http::post("/token/refresh/", Access::anyone, handle(refresh, service)).json_or_form());
  router.add(http::post("/logout/", Access::anyone, handle(logout, service)).json_or_form());
  router.add(http::get("/user/", Access::user, handle(current_user, service)));
  router.add(http::post("/password/reset/", Access::anyone, handle(request_reset, service)).json());
  router.add(http::post("/password/reset/confirm/", Access::anyone, handle(confirm_reset, service))
                 .json()
                 .runs(Runs::slow_lane));
  router.add(http::post("/password/change/", Access::user, handle(change_password, service))
                 .json()
                 .runs(Runs::slow_lane));
  router.add(http::post("/email/verify/", Access::anyone, handle(verify_email, service)).json());
  router.add(http::post("/email/verify/resend/", Access::user, handle(resend_verification, service)));
  register_page_routes(router);
}

}  // namespace auth
