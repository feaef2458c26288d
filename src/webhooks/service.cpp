#include "webhooks/service.hpp"

#include "common/clock.hpp"
#include "common/text.hpp"
#include "webhooks/address.hpp"
#include "webhooks/events.hpp"
#include "webhooks/signing.hpp"
#include "webhooks/worker.hpp"

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstddef>
#include <set>

namespace webhooks {
namespace {

constexpr std::size_t kDataArena = 8192;  // bytes: an order of a dozen lines fits; more spills to the heap

[[noreturn]] void not_found() { throw common::Error("not_found", "Not found"); }

boost::json::value optional_time(const std::optional<std::int64_t>& micros) {
  if (!micros) return nullptr;
  return boost::json::value(common::format_rfc3339(*micros));
}

template <class T>
boost::json::value optional_value(const std::optional<T>& v) {
  if (!v) return nullptr;
  return boost::json::value(*v);
}

// ",a,b," <-> ["a", "b"]: the column's form lets one SQL test find a subscriber (webhooks/repo.cpp).
std::string events_column(const std::vector<std::string>& events) {
  std::string text = ",";
  for (const auto& e : events) text += e + ",";
  return text;
}

boost::json::array events_list(const std::string& column) {
  boost::json::array out;
  std::size_t at = 1;
  while (at < column.size()) {
    auto end = column.find(',', at);
    if (end == std::string::npos) break;
    if (end > at) out.emplace_back(column.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string known_types() {
  std::string list;
  for (auto t : kEventTypes) list += (list.empty() ? "" : ", ") + std::string(t);
  return list;
}

// Each a known type; repeats are merged when the endpoint is written, so a list holds at most every
// type once whatever its length (the body's own limit bounds that).
void check_events(const std::vector<std::string>& events, common::FieldErrors& errors) {
  if (events.empty()) errors.add("events", "Name at least one event type.");
  for (const auto& e : events) {
    if (!is_event_type(e)) {
      errors.add("events", "Unknown event type (known: " + known_types() + ").");
      return;
    }
  }
}

// An endpoint's URL: its form, its length, and (unless allow_private) where it resolves.
void check_url(const std::string& url, bool allow_private, common::FieldErrors& errors) {
  if (url.size() > kMaxUrlLength) {
    errors.add("url", "Ensure this field has no more than " + std::to_string(kMaxUrlLength) + " characters.");
    return;
  }
  std::string problem;
  auto target = parse_target(url, problem);
  if (!target) {
    errors.add("url", problem);
  } else if (auto refused = refused_target(*target, allow_private)) {
    errors.add("url", *refused);
  }
}

}  // namespace

boost::json::object to_json(const repo::Endpoint& e, bool with_secret) {
  auto now = common::now_micros();
  bool rotating = e.previous_secret && e.previous_secret_until.value_or(0) > now;
  boost::json::object body{{"id", e.id},
                           {"url", e.url},
                           {"events", events_list(e.events)},
                           {"description", e.description},
                           {"enabled", e.enabled},
                           {"disabled_at", optional_time(e.disabled_at)},
                           {"failing_since", optional_time(e.failing_since)},
                           {"previous_secret_expires_at", rotating ? optional_time(e.previous_secret_until) : nullptr},
                           {"created_at", common::format_rfc3339(e.created_at)},
                           {"updated_at", common::format_rfc3339(e.updated_at)}};
  if (with_secret) body["secret"] = e.secret;
  return body;
}

boost::json::object to_json(const repo::Delivery& d) {
  return {{"id", d.id},
          {"event_id", d.event_id},
          {"webhook_id", message_id(d.event_id, d.event_created_at)},
          {"event", d.type},
          {"endpoint_id", d.endpoint_id},
          {"status", d.status},
          {"attempts", d.attempts},
          {"next_attempt_at", d.status == "pending" ? optional_time(d.next_attempt_at) : nullptr},
          {"last_attempt_at", optional_time(d.last_attempt_at)},
          {"status_code", optional_value(d.last_status_code)},
          {"latency_ms", optional_value(d.last_latency_ms)},
          {"response", optional_value(d.last_response)},
          {"error", optional_value(d.last_error)},
          {"created_at", common::format_rfc3339(d.created_at)}};
}

std::optional<std::string> delivery_status_filter(std::optional<std::string_view> text) {
  if (!text || text->empty()) return std::nullopt;
  if (std::find(kDeliveryStatuses.begin(), kDeliveryStatuses.end(), *text) == kDeliveryStatuses.end()) {
    common::FieldErrors errors;
    errors.add("status", "Must be one of: pending, sending, succeeded, failed.");
    errors.raise_if_any();
  }
  return std::string(*text);
}

Service::Service(db::Database& database, Worker& worker, Settings settings)
    : database_(database), worker_(worker), settings_(settings) {}

void Service::publish(db::Connection& c, std::string_view type, const Data& data) {
  if (!subscribed(c, type)) return;
  auto now = common::now_micros();
  // The data is built in an arena on the stack and freed whole, not value by value: on SQLite this runs
  // on the one writer thread, in every sale, and an order's JSON is some forty allocations otherwise.
  alignas(std::max_align_t) unsigned char buffer[kDataArena];
  boost::json::monotonic_resource arena(buffer, sizeof buffer);
  auto payload = boost::json::serialize(data(boost::json::storage_ptr(&arena)));
  // On SQLite `written` runs inside the transaction, which is safe: the worker's lease on new events
  // waits for its commit. On PostgreSQL it runs once the statement that carried the event is answered:
  // the COMMIT, mostly, so the worker finds it at once (else at its next poll).
  repo::write_event(c, type, payload, now, [this] { worker_.wake(); });
}

// The stamps are read before the table, so a change that lands between them retires what is read.
bool Service::subscribed(db::Connection& c, std::string_view type) {
  auto heard = database_.endpoints_generation();
  // This node's changes: staff's, and the endpoints its worker disabled.
  auto local = local_changes_.load(std::memory_order_acquire) + worker_.disabled();
  if (heard) {
    std::lock_guard lock(subscriptions_mutex_);
    if (subscriptions_ && subscriptions_->local == local && subscriptions_->heard == *heard) {
      return repo::subscribes(subscriptions_->events, type);
    }
  }
  auto events = repo::subscriptions(c);
  bool found = repo::subscribes(events, type);
  if (heard) {
    std::lock_guard lock(subscriptions_mutex_);
    subscriptions_ = Subscriptions{.local = local, .heard = *heard, .events = std::move(events)};
  }
  return found;
}

// Retired inside the transaction too: on SQLite a publisher in the same commit group reads the
// table (and sees the change), and one that read it meanwhile elsewhere is retired again after.
template <class F>
auto Service::change_endpoints(F&& body) {
  struct RetireAfter {
    Service& service;
    ~RetireAfter() { service.retire_subscriptions(); }
  } after{*this};
  return database_.transaction([&](db::Connection& c) {
    retire_subscriptions();
    return body(c);
  });
}

void Service::check(const EndpointChange& change, common::FieldErrors& errors) const {
  if (change.url) check_url(*change.url, settings_.allow_private, errors);
  if (change.events) check_events(*change.events, errors);
  if (change.description && common::characters(*change.description) > kMaxDescription) {
    errors.add("description", "Ensure this field has no more than " + std::to_string(kMaxDescription) + " characters.");
  }
}

void Service::apply(const EndpointChange& change, repo::Endpoint& endpoint) {
  if (change.url) endpoint.url = *change.url;
  if (change.events) {
    std::set<std::string> unique(change.events->begin(), change.events->end());  // sorted, once each
    endpoint.events = events_column({unique.begin(), unique.end()});
  }
  if (change.description) endpoint.description = *change.description;
  if (change.enabled) endpoint.enabled = *change.enabled;
}

repo::Endpoint Service::create(const EndpointChange& change) {
  common::FieldErrors errors;
  if (!change.url) errors.add("url", "This field is required.");
  if (!change.events) errors.add("events", "This field is required.");
  check(change, errors);
  errors.raise_if_any();
  repo::Endpoint endpoint;
  apply(change, endpoint);
  endpoint.secret = new_secret();
  return change_endpoints([&](db::Connection& c) {
    repo::lock_endpoints(c);
    if (repo::count_endpoints(c) >= kMaxEndpoints) {
      common::FieldErrors full;
      full.add("non_field_errors", "A shop has at most " + std::to_string(kMaxEndpoints) + " webhook endpoints.");
      full.raise_if_any();
    }
    auto id = repo::insert_endpoint(c, endpoint, common::now_micros());
    return *repo::find_endpoint(c, id);
  });
}

EndpointPage Service::list(std::int64_t limit, const PageOffset& page_offset) {
  return database_.read([&](db::Connection& c) {
    EndpointPage page;
    page.count = repo::count_endpoints(c);
    page.endpoints = repo::list_endpoints(c, limit, page_offset(page.count));
    return page;
  });
}

repo::Endpoint Service::get(std::int64_t id) {
  auto found = database_.read([&](db::Connection& c) { return repo::find_endpoint(c, id); });
  if (!found) not_found();
  return *found;
}

repo::Endpoint Service::update(std::int64_t id, const EndpointChange& change) {
  common::FieldErrors errors;
  check(change, errors);
  errors.raise_if_any();
  return change_endpoints([&](db::Connection& c) {
    // Locked: a PATCH writes every column, so a concurrent PATCH's change would otherwise be lost, and
    // a DELETE committed between the read and the write would leave nothing to answer with.
    auto endpoint = repo::lock_endpoint(c, id);
    if (!endpoint) not_found();
    apply(change, *endpoint);
    repo::update_endpoint(c, *endpoint, common::now_micros());
    return *repo::find_endpoint(c, id);
  });
}

void Service::remove(std::int64_t id) {
  if (!change_endpoints([&](db::Connection& c) { return repo::delete_endpoint(c, id); })) not_found();
}

repo::Endpoint Service::rotate_secret(std::int64_t id) {
  auto secret = new_secret();
  return database_.transaction([&](db::Connection& c) {
    auto now = common::now_micros();
    auto until = now + std::chrono::duration_cast<std::chrono::microseconds>(settings_.rotation_overlap).count();
    if (!repo::rotate_secret(c, id, secret, until, now)) not_found();
    return *repo::find_endpoint(c, id);
  });
}

repo::Delivery Service::send_test(std::int64_t id) {
  auto delivery = database_.transaction([&](db::Connection& c) {
    if (!repo::find_endpoint(c, id)) not_found();
    auto now = common::now_micros();
    boost::json::object data{{"endpoint_id", id}, {"message", "A test event sent by staff from orderd."}};
    auto event_id = repo::insert_event(c, kTestEvent, boost::json::serialize(data), now);
    return *repo::find_delivery(c, repo::deliver_to(c, event_id, id, now));
  });
  worker_.wake();
  return delivery;
}

DeliveryPage Service::deliveries(std::int64_t endpoint_id, const std::optional<std::string>& status,
                                 std::int64_t limit, const PageOffset& page_offset) {
  return database_.read([&](db::Connection& c) {
    if (!repo::find_endpoint(c, endpoint_id)) not_found();
    DeliveryPage page;
    page.count = repo::count_deliveries(c, endpoint_id, status);
    page.deliveries = repo::list_deliveries(c, endpoint_id, status, limit, page_offset(page.count));
    return page;
  });
}

repo::Delivery Service::redeliver(std::int64_t delivery_id) {
  auto delivery = database_.transaction([&](db::Connection& c) -> std::optional<repo::Delivery> {
    auto found = repo::find_delivery(c, delivery_id);
    if (!found) return std::nullopt;
    // It would be failed unsent: say so now (a test event does reach a disabled endpoint).
    if (auto endpoint = repo::find_endpoint(c, found->endpoint_id); endpoint && !endpoint->enabled) {
      throw common::Error("endpoint_disabled", "Webhook endpoint " + std::to_string(endpoint->id) +
                                                   " is disabled: enable it before redelivering (a test event is "
                                                   "sent to it meanwhile)");
    }
    repo::redeliver(c, delivery_id, common::now_micros());
    return repo::find_delivery(c, delivery_id);
  });
  if (!delivery) not_found();
  worker_.wake();
  return *delivery;
}

}  // namespace webhooks
