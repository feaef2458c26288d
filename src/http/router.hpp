#pragma once
// Routes: method + path pattern ("/store/orders/{id}/cancel/"), who may call them, whether they take
// a JSON body, and the handler. The trailing slash is optional on every route.
//
// A module's route table is one line per route, naming handler functions defined above it (the
// shape of drogon's controllers), so a reader sees every route, who may call it and what runs it at
// a glance:
//
//   router.add(http::get("/store/orders/", Access::user, handle(list_orders, service)).runs(Runs::local_read));
//   router.add(http::post("/store/products/", Access::staff, handle(create_product, service)).json());
//
// http::get / post / put / patch / del(path, access, handler) make the Route; its options are
// .json() (the body is a JSON object, decoded before the handler), .json_or_form() (or an HTML form,
// as the old service's routes took), .runs(lane), .scans(predicate)
// and .write(write handler) (the fields of Route below). http::handle(fn, deps...) binds a handler
// function `Response fn(Deps&..., Request&)` to what it needs: an lvalue dependency is held by
// reference (services and stores, which outlive the router), an rvalue is moved into the handler (a
// copyable value such as a setting or a shared_ptr: write std::move for a by-value parameter).

#include "http/message.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace db {
class Connection;
}

namespace http {

enum class Access { anyone, user, staff };
// json: a JSON object, checked and parsed before the handler runs. json_or_form: the same, or an HTML
// form's fields as strings (http/form.hpp), as the old service's routes took them.
enum class Body { none, json, json_or_form };

using Handler = std::function<Response(Request&)>;

// A write split where it waits for the database, so that no thread waits with it: the transaction
// goes to the database's writer (SQLite's writer thread, ServerOptions::submit_write) and the
// response is made on the I/O thread once it is committed.
struct WriteStep {
  std::function<void(db::Connection&)> transaction;  // runs once, in a write transaction
  std::function<Response()> respond;                 // after the commit
};
using WriteHandler = std::function<WriteStep(Request&)>;
// A route's answer from memory when it has one (a kept page), else nullopt: it must not block.
using KeptHandler = std::function<std::optional<Response>(Request&)>;

// Where a handler runs.
enum class Runs {
  // The handler pool: handlers there may block (database, password hashing, the gateway).
  handler_pool,
  // The I/O thread that read the request: cheap handlers that touch no database.
  io_thread,
  // A short read bounded by the route (one page, found by an index): on the I/O thread when the
  // database reads locally (ServerOptions::local_reads, SQLite: microseconds from the page cache,
  // less than the two thread hand-offs to the pool and back), on the pool otherwise (PostgreSQL:
  // a network round trip). Requests for which `scans` returns true still go to the pool.
  local_read,
  // The slow lane: handlers slow on purpose (password hashing) get threads of their own and a bounded
  // queue (ServerOptions::slow_lane_threads, slow_lane_queue). When the queue is full the request is
  // answered 503 too_busy at once, so a burst of sign-ups never holds a thread that payments, orders
  // or staff routes need.
  slow_lane,
};

struct Route {
  Method method = Method::get;
  std::string path;
  Access access = Access::anyone;
  Body body = Body::none;
  Handler handler;
  Runs runs = Runs::handler_pool;
  bool (*scans)(const Request&) = nullptr;  // Runs::local_read: true for requests that may read many rows
  // Optional, for routes with a handler too: the same write as a WriteStep, used when the server
  // has a write queue and the request carries no Idempotency-Key (remembering a response takes
  // transactions of its own: those requests take the handler's path).
  WriteHandler write = {};
  // Optional: tried on the I/O thread, after authentication, before a request goes to the handler
  // pool, so an answer the route keeps in memory costs no thread hand-off (PostgreSQL's kept pages).
  KeptHandler kept = {};
};

class Router {
 public:
  // Resolves the bearer token of a request to a principal, or throws common::Error (401).
  using Authenticator = std::function<Principal(const Request&)>;

  void add(Route route);
  void set_authenticator(Authenticator authenticator) { authenticator_ = std::move(authenticator); }

  struct Match {
    const Route* route = nullptr;
    std::string allow;  // when no route matched but the path exists with other methods: "GET, POST"
  };
  // Finds the route for a method and path and fills `params` with its {name} values. HEAD is served
  // by a path's GET route (RFC 9110 section 9.3.2; the server then writes the headers only), so
  // `allow` names HEAD beside every GET.
  Match match(Method method, std::string_view path, Params& params) const;

  // Authentication, body decoding and the handler; every failure becomes the contract's error body.
  Response execute(const Route& route, Request& request) const;

  // The route's kept answer (Route::kept) after authentication, or an error response; nullopt when
  // it has none and the handler must run.
  std::optional<Response> execute_kept(const Route& route, Request& request) const;

  // The two halves of a route's write step: authentication, body decoding and the write handler
  // (an error response, or the step whose transaction is to be submitted), then the response once
  // the transaction committed (`error` null) or failed.
  std::variant<Response, WriteStep> prepare_write(const Route& route, Request& request) const;
  Response finish_write(const Route& route, Request& request, WriteStep& step, std::exception_ptr error) const;

  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{...}" marks a parameter
  };
  void admit(const Route& route, Request& request) const;  // authentication and body decoding
  template <class Result, class Work>
  Result admitted(const Route& route, Request& request, Work work) const;
  Response failure(const Route& route, const Request& request, std::exception_ptr error) const;

  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
  Authenticator authenticator_;
};

// One line of a route table: http::get(path, access, handler) and its options (see the top of this file).
class RouteBuilder {
 public:
  RouteBuilder(Method method, std::string path, Access access, Handler handler)
      : route_{.method = method, .path = std::move(path), .access = access, .handler = std::move(handler)} {}

  RouteBuilder&& json() && {
    route_.body = Body::json;
    return std::move(*this);
  }
  RouteBuilder&& json_or_form() && {
    route_.body = Body::json_or_form;
    return std::move(*this);
  }
  RouteBuilder&& runs(Runs where) && {
    route_.runs = where;
    return std::move(*this);
  }
  RouteBuilder&& scans(bool (*predicate)(const Request&)) && {
    route_.scans = predicate;
    return std::move(*this);
  }
  RouteBuilder&& kept(KeptHandler answer) && {
    route_.kept = std::move(answer);
    return std::move(*this);
  }
  RouteBuilder&& write(WriteHandler step) && {
    route_.write = std::move(step);
    return std::move(*this);
  }

  operator Route() && { return std::move(route_); }  // NOLINT(google-explicit-constructor): Router::add takes it

 private:
  Route route_;
};

inline RouteBuilder get(std::string path, Access access, Handler handler) {
  return {Method::get, std::move(path), access, std::move(handler)};
}
inline RouteBuilder post(std::string path, Access access, Handler handler) {
  return {Method::post, std::move(path), access, std::move(handler)};
}
inline RouteBuilder put(std::string path, Access access, Handler handler) {
  return {Method::put, std::move(path), access, std::move(handler)};
}
inline RouteBuilder patch(std::string path, Access access, Handler handler) {
  return {Method::patch, std::move(path), access, std::move(handler)};
}
inline RouteBuilder del(std::string path, Access access, Handler handler) {
  return {Method::del, std::move(path), access, std::move(handler)};
}

// A handler (or write handler) calling fn(deps..., request). Lvalue dependencies are held by
// reference and must outlive the router; rvalues are moved in and owned by the handler.
template <class Fn, class... Deps>
auto handle(Fn fn, Deps&&... deps) {
  return [fn, bound = std::tuple<Deps...>(std::forward<Deps>(deps)...)](Request& request) {
    return std::apply([&](auto&... dep) { return fn(dep..., request); }, bound);
  };
}

// Splits "/a/b/" into {"a", "b"}; the trailing slash is optional.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace http
