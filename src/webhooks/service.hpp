#pragma once
// Webhooks (issue #19, docs/webhooks.md): what the shop's changes publish, and what staff do with
// endpoints and deliveries. Knows nothing of HTTP; throws common::Error with the contract's codes.
//
// publish() runs inside the transaction of the change it reports, so an event exists exactly when the
// change does (never for a rollback, never lost after a commit). With no endpoint subscribed to the
// type it costs nothing: each node keeps the set of subscribed types (subscribed()), retired by its
// own endpoint changes at once and by other nodes' through PostgreSQL's NOTIFY (migration 015), so
// an endpoint hears of changes that commit after every node has heard of it (on another node, the
// notification's latency later: well under a millisecond on a LAN). While a node cannot hear other
// nodes (its listener is down) it reads the set in each publishing transaction, as it always did.

#include "common/error.hpp"
#include "db/database.hpp"
#include "webhooks/repo.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace webhooks {

class Worker;

inline constexpr std::size_t kMaxDescription = 500;  // characters
inline constexpr std::int64_t kMaxEndpoints = 50;

// What staff send to create (url and events required) or PATCH (any of them) an endpoint.
struct EndpointChange {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<std::string> description;
  std::optional<bool> enabled;
};

// An endpoint as staff see it; the secret only when `with_secret` (its creation and a rotation).
boost::json::object to_json(const repo::Endpoint& endpoint, bool with_secret = false);
boost::json::object to_json(const repo::Delivery& delivery);
// The ?status= of a delivery list: nullopt for all, 400 validation_error for an unknown one.
std::optional<std::string> delivery_status_filter(std::optional<std::string_view> text);

struct EndpointPage {
  std::int64_t count = 0;
  std::vector<repo::Endpoint> endpoints;
};
struct DeliveryPage {
  std::int64_t count = 0;
  std::vector<repo::Delivery> deliveries;
};
using PageOffset = std::function<std::int64_t(std::int64_t)>;

class Service {
 public:
  struct Settings {
    bool allow_private = false;                           // webhook_allow_private
    std::chrono::milliseconds rotation_overlap = std::chrono::hours(24);  // the old secret signs this long
  };
  Service(db::Database& database, Worker& worker, Settings settings);

  // Inside the caller's transaction: an event of `type` for every endpoint subscribed to it; `data` is
  // called only when there is one.
  // `data` builds the event's data in the memory it is given (a stack arena, thrown away whole).
  using Data = std::function<boost::json::object(boost::json::storage_ptr)>;
  void publish(db::Connection& c, std::string_view type, const Data& data);
  // Whether an enabled endpoint subscribes to `type`, from the kept set when it is current (what
  // publish() asks first; a caller may ask before it, to read an event's data ahead with other work).
  bool subscribed(db::Connection& c, std::string_view type);

  repo::Endpoint create(const EndpointChange& change);
  EndpointPage list(std::int64_t limit, const PageOffset& page_offset);
  repo::Endpoint get(std::int64_t id);  // 404 not_found
  repo::Endpoint update(std::int64_t id, const EndpointChange& change);
  void remove(std::int64_t id);
  repo::Endpoint rotate_secret(std::int64_t id);
  // A webhook.test event to this endpoint only, sent at once by the worker.
  repo::Delivery send_test(std::int64_t id);
  DeliveryPage deliveries(std::int64_t endpoint_id, const std::optional<std::string>& status, std::int64_t limit,
                          const PageOffset& page_offset);
  repo::Delivery redeliver(std::int64_t delivery_id);

 private:
  void check(const EndpointChange& change, common::FieldErrors& errors) const;
  static void apply(const EndpointChange& change, repo::Endpoint& endpoint);
  // A change of endpoints: `body` in a transaction, the kept set retired in it and once it committed.
  template <class F>
  auto change_endpoints(F&& body);
  void retire_subscriptions() noexcept { local_changes_.fetch_add(1, std::memory_order_acq_rel); }

  // What enabled endpoints subscribe to, with what it was read at: this node's own endpoint changes
  // and the database's endpoints_generation().
  struct Subscriptions {
    std::uint64_t local = 0;
    std::uint64_t heard = 0;
    std::string events;  // repo::subscriptions()
  };

  db::Database& database_;
  Worker& worker_;
  Settings settings_;
  std::atomic<std::uint64_t> local_changes_{0};
  std::mutex subscriptions_mutex_;
  std::optional<Subscriptions> subscriptions_;
};

}  // namespace webhooks
