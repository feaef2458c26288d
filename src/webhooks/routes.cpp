#include "webhooks/routes.hpp"

#include "http/fields.hpp"
#include "http/pagination.hpp"
#include "webhooks/service.hpp"

#include <boost/json/array.hpp>

namespace webhooks {
namespace {

// The list of event types; a field error when it is not a list of strings.
std::optional<std::vector<std::string>> events_field(http::Fields& f) {
  const auto* v = f.raw("events");
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_array()) {
    f.error("events", "Expected a list of event types.");
    return std::nullopt;
  }
  std::vector<std::string> events;
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) {
      f.error("events", "Expected a list of event types.");
      return std::nullopt;
    }
    events.emplace_back(item.get_string());
  }
  return events;
}

std::optional<bool> enabled_field(http::Fields& f) {
  const auto* v = f.raw("enabled");
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) {
    f.error("enabled", "Must be a valid boolean.");
    return std::nullopt;
  }
  return v->get_bool();
}

// The body's fields, their types checked; the service checks their values.
EndpointChange change_from(const http::Request& request) {
  http::Fields f(request.json);
  EndpointChange change;
  change.url = f.text("url", false);
  change.events = events_field(f);
  change.description = f.text("description", false);
  change.enabled = enabled_field(f);
  f.check();
  return change;
}

}  // namespace

http::Response create_endpoint(Service& service, http::Request& request) {
  return http::json_response(201, to_json(service.create(change_from(request)), true));
}

http::Response list_endpoints(Service& service, http::Request& request) {
  http::Page page(request);
  auto found = service.list(page.size(), [&](std::int64_t count) { return page.offset(count); });
  boost::json::array results;
  for (const auto& e : found.endpoints) results.push_back(to_json(e));
  return http::json_response(200, page.body(found.count, std::move(results)));
}

http::Response show_endpoint(Service& service, http::Request& request) {
  return http::json_response(200, to_json(service.get(request.id_param())));
}

http::Response update_endpoint(Service& service, http::Request& request) {
  return http::json_response(200, to_json(service.update(request.id_param(), change_from(request))));
}

http::Response delete_endpoint(Service& service, http::Request& request) {
  service.remove(request.id_param());
  return http::no_content();
}

http::Response rotate_secret(Service& service, http::Request& request) {
  return http::json_response(200, to_json(service.rotate_secret(request.id_param()), true));
}

http::Response send_test(Service& service, http::Request& request) {
  return http::json_response(202, to_json(service.send_test(request.id_param())));
}

http::Response list_deliveries(Service& service, http::Request& request) {
  auto status = delivery_status_filter(request.query_param("status"));
  http::Page page(request);
  auto found = service.deliveries(request.id_param(), status, page.size(),
                                  [&](std::int64_t count) { return page.offset(count); });
  boost::json::array results;
  for (const auto& d : found.deliveries) results.push_back(to_json(d));
  return http::json_response(200, page.body(found.count, std::move(results)));
}

http::Response redeliver(Service& service, http::Request& request) {
  return http::json_response(200, to_json(service.redeliver(request.id_param())));
}

}  // namespace webhooks
