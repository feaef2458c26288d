#include "http/router.hpp"

#include "http/form.hpp"

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/log_context.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace http {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return {std::string_view("\0", 1)};  // matches nothing
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (!path.empty()) {
    auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) segments.emplace_back();  // "//" at the end: an empty segment, matches nothing
  }
  return segments;
}

namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool is_json_content_type(std::string_view type) {
  auto semi = type.find(';');
  auto base = type.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  return base.size() == kJson.size() && std::equal(base.begin(), base.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

void decode_body(Body kind, Request& request) {
  if (kind == Body::json_or_form && is_form_content_type(request.content_type)) {
    request.json = parse_form(request.content_type, request.body);
    return;
  }
  if (!is_json_content_type(request.content_type)) {
    throw common::Error("unsupported_media_type",
                        kind == Body::json_or_form ? "Content-Type must be application/json, application/x-www-form-"
                                                     "urlencoded or multipart/form-data"
                                                   : "Content-Type must be application/json");
  }
  boost::system::error_code ec;
  request.json = common::parse_json(request.body, ec);
  if (ec) throw common::Error("malformed_json", "Request body is not valid JSON: " + ec.message());
  if (!request.json.is_object()) throw common::Error("validation_error", "Request body must be a JSON object");
}

// Adds a method to an Allow header's list, once.
void allow(std::string& list, Method method) {
  auto name = to_string(method);
  if (list.find(name) != std::string::npos) return;
  if (!list.empty()) list += ", ";
  list += name;
}

}  // namespace

void Router::add(Route route) {
  if (route.path.empty() || route.path.front() != '/') throw std::invalid_argument("route path must start with /");
  Compiled compiled;
  for (auto segment : split_path(route.path)) compiled.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
  compiled_.push_back(std::move(compiled));
}

Router::Match Router::match(Method method, std::string_view path, Params& params) const {
  auto segments = split_path(path);
  Match result;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& pattern = compiled_[i].segments;
    if (pattern.size() != segments.size()) continue;
    bool same = true;
    for (std::size_t s = 0; s < pattern.size() && same; ++s) {
      same = is_param(pattern[s]) ? !segments[s].empty() : pattern[s] == segments[s];
    }
    if (!same) continue;
    auto route_method = routes_[i].method;
    if (route_method == method || (method == Method::head && route_method == Method::get)) {
      params.clear();
      for (std::size_t s = 0; s < pattern.size(); ++s) {
        if (is_param(pattern[s])) params.emplace_back(pattern[s].substr(1, pattern[s].size() - 2), segments[s]);
      }
      result.route = &routes_[i];
      result.allow.clear();
      return result;
    }
    allow(result.allow, route_method);
    if (route_method == Method::get) allow(result.allow, Method::head);
  }
  return result;
}

void Router::admit(const Route& route, Request& request) const {
  if (route.access != Access::anyone) {
    if (!authenticator_) throw std::logic_error("route requires a user but no authenticator is installed");
    request.principal = authenticator_(request);
    if (route.access == Access::staff && !request.principal->staff) {
      throw common::Error("forbidden", "You do not have permission to perform this action");
    }
  }
  if (route.body != Body::none) decode_body(route.body, request);
}

Response Router::failure(const Route& route, const Request& request, std::exception_ptr error) const {
  try {
    std::rethrow_exception(error);
  } catch (const common::Error& e) {
    auto response = error_response(e.code(), e.what(), e.details());
    // RFC 9110 section 15.5.2: a 401 names the scheme to use (SimpleJWT's views sent the same header).
    if (response.status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"api\"");
    if (const auto* wait = e.details().if_contains("retry_after"); wait && wait->is_int64()) {
      response.headers.emplace_back("Retry-After", std::to_string(wait->get_int64()));
    }
    return response;
  } catch (const std::exception& e) {
    spdlog::error("request {} {} {} failed: {}", request.request_id, to_string(request.method), route.path, e.what());
  } catch (...) {
    spdlog::error("request {} {} {} failed with an unknown exception", request.request_id, to_string(request.method),
                  route.path);
  }
  return error_response("internal_error", "Internal server error", {{"request_id", request.request_id}});
}

namespace {

// Every line logged for a request names it (and its user, once known).
struct RequestLogContext {
  common::LogContext context;
  common::ScopedLogContext scope{context};
  RequestLogContext(const Route& route, const Request& request)
      : context{request.request_id, route.path, request.principal ? request.principal->user_id : 0} {}
};

}  // namespace

// Authentication and body decoding, then `work`; every failure becomes the contract's error body.
template <class Result, class Work>
Result Router::admitted(const Route& route, Request& request, Work work) const {
  RequestLogContext log(route, request);
  try {
    admit(route, request);
    if (request.principal) log.context.user_id = request.principal->user_id;
    return work();
  } catch (...) {
    return failure(route, request, std::current_exception());
  }
}

Response Router::execute(const Route& route, Request& request) const {
  return admitted<Response>(route, request, [&] { return route.handler(request); });
}

std::optional<Response> Router::execute_kept(const Route& route, Request& request) const {
  return admitted<std::optional<Response>>(route, request, [&] { return route.kept(request); });
}

std::variant<Response, WriteStep> Router::prepare_write(const Route& route, Request& request) const {
  return admitted<std::variant<Response, WriteStep>>(route, request, [&] { return route.write(request); });
}

Response Router::finish_write(const Route& route, Request& request, WriteStep& step, std::exception_ptr error) const {
  RequestLogContext log(route, request);
  try {
    if (error) std::rethrow_exception(error);
    return step.respond();
  } catch (...) {
    return failure(route, request, std::current_exception());
  }
}

}  // namespace http
