#pragma once
// Routes: method + path pattern ("/store/orders/{id}/cancel/"), who may call them, whether they take
// a JSON body, and the handler. The trailing slash is optional on every route.

#include "http/message.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace http {

enum class Access { anyone, user, staff };
enum class Body { none, json };  // json: a JSON object, checked and parsed before the handler runs

using Handler = std::function<Response(Request&)>;

struct Route {
  Method method = Method::get;
  std::string path;
  Access access = Access::anyone;
  Body body = Body::none;
  Handler handler;
  // Cheap handlers that touch no database may run on the I/O thread instead of the worker pool.
  bool on_io_thread = false;
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
  // Finds the route for a method and path and fills `params` with its {name} values.
  Match match(Method method, std::string_view path, Params& params) const;

  // Authentication, body decoding and the handler; every failure becomes the contract's error body.
  Response execute(const Route& route, Request& request) const;

  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{...}" marks a parameter
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
  Authenticator authenticator_;
};

// Splits "/a/b/" into {"a", "b"}; the trailing slash is optional.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace http
