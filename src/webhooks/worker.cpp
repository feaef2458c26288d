#include "webhooks/worker.hpp"

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "webhooks/signing.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace webhooks {

// Read by /metrics on another thread; shared so a render after the worker is gone stays safe.
struct Worker::Gauges {
  std::atomic<std::int64_t> depth{0};
  std::atomic<std::int64_t> oldest_created_at{0};  // 0: nothing waits
};

namespace {

constexpr std::chrono::hours kLongestRetryAfter{24};  // a receiver cannot park its deliveries for longer

std::int64_t micros(std::chrono::milliseconds d) { return d.count() * 1000; }

}  // namespace

std::string message_id(std::int64_t event_id, std::int64_t created_at) {
  return "evt_" + std::to_string(created_at) + "_" + std::to_string(event_id);
}

std::string message_body(std::string_view type, std::int64_t created_at, const std::string& payload) {
  return R"({"type":)" + boost::json::serialize(boost::json::string(type)) + R"(,"timestamp":")" +
         common::format_rfc3339(created_at) + R"(","data":)" + payload + "}";
}

Worker::Worker(db::Database& database, common::Metrics& metrics, WorkerOptions options)
    : database_(database),
      metrics_(metrics),
      options_(std::move(options)),
      lease_(options_.timeout * std::max(1, options_.batch_size) + std::chrono::seconds(30)),
      gauges_(std::make_shared<Gauges>()),
      thread_("webhook sender", options_.poll_interval, [this] { drain(); }) {
  metrics.gauge("orderd_webhook_queue_depth", "Webhook deliveries waiting to be sent (pending or being sent).",
                [g = gauges_] { return static_cast<double>(g->depth.load()); });
  metrics.gauge("orderd_webhook_oldest_pending_age_seconds", "Age of the oldest webhook delivery not yet made.",
                [g = gauges_] {
                  auto oldest = g->oldest_created_at.load();
                  if (oldest == 0) return 0.0;
                  return std::max(0.0, static_cast<double>(common::now_micros() - oldest) / 1e6);
                });
}

// The periodic task: full batches mean more may be due right away.
void Worker::drain() {
  while (run_once() == options_.batch_size && !stopping_) {
  }
  refresh_gauges();
}

int Worker::run_once() {
  auto now = common::now_micros();
  auto claimed = database_.transaction([&](db::Connection& c) {
    return repo::claim_due(c, now, now + micros(lease_), options_.batch_size);
  });
  for (const auto& delivery : claimed) {
    if (stopping_) {
      // Not attempted: give it back now rather than leave it leased until the lease runs out.
      database_.transaction([&](db::Connection& c) { repo::release(c, delivery, common::now_micros()); });
      continue;
    }
    deliver(delivery);
  }
  return static_cast<int>(claimed.size());
}

void Worker::deliver(const repo::Claimed& claimed) {
  if (!claimed.enabled) {
    repo::Outcome outcome;
    outcome.at = common::now_micros();
    outcome.error = "the endpoint is disabled";
    database_.transaction([&](db::Connection& c) { repo::mark_failed(c, claimed, outcome); });
    count(claimed.type, "failed");
    return;
  }
  auto now = common::now_micros();
  auto timestamp = now / 1'000'000;
  auto id = message_id(claimed.event_id, claimed.event_created_at);
  Post request{claimed.url, {}, message_body(claimed.type, claimed.event_created_at, claimed.payload)};
  bool previous_signs = claimed.previous_secret && claimed.previous_secret_until.value_or(0) > now;
  request.headers = {{"Content-Type", "application/json"},
                     {"webhook-id", id},
                     {"webhook-timestamp", std::to_string(timestamp)},
                     {"webhook-signature", signature_header(claimed.secret,
                                                            previous_signs ? claimed.previous_secret : std::nullopt,
                                                            id, timestamp, request.body)}};
  record(claimed, post(request, options_.timeout, options_.allow_private));
}

void Worker::record(const repo::Claimed& claimed, const PostResult& result) {
  repo::Outcome outcome;
  outcome.at = common::now_micros();
  outcome.latency_ms = result.latency.count();
  if (result.status != 0) {
    outcome.status_code = result.status;
    outcome.answer = result.answer;
  }
  if (result.status >= 200 && result.status < 300) {
    bool marked = database_.transaction([&](db::Connection& c) {
      repo::endpoint_succeeded(c, claimed.endpoint_id);
      return repo::mark_succeeded(c, claimed, outcome);
    });
    count(claimed.type, "succeeded");
    if (!marked) spdlog::warn("webhook delivery {} was made after its claim was taken over", claimed.id);
    return;
  }
  outcome.error = result.status != 0 ? "HTTP " + std::to_string(result.status) : result.error;
  record_failure(claimed, outcome, result.retry_after);
}

void Worker::record_failure(const repo::Claimed& claimed, const repo::Outcome& outcome,
                            std::optional<std::chrono::seconds> retry_after) {
  auto step = static_cast<std::size_t>(claimed.attempts);  // the attempt just made, from 1
  bool last = step > options_.schedule.size();
  std::chrono::milliseconds wait{0};
  if (!last) {
    wait = options_.schedule[step - 1];
    if (retry_after) wait = std::max<std::chrono::milliseconds>(wait, std::min<std::chrono::milliseconds>(*retry_after, kLongestRetryAfter));
  }
  auto disabled = database_.transaction([&](db::Connection& c) {
    if (last) repo::mark_failed(c, claimed, outcome);
    else repo::schedule_retry(c, claimed, outcome, outcome.at + micros(wait));
    return repo::endpoint_failed(c, claimed.endpoint_id, outcome.at, outcome.at - micros(options_.disable_after));
  });
  count(claimed.type, last ? "failed" : "retried");
  spdlog::warn("webhook delivery {} ({} to endpoint {}) attempt {} failed{}: {}", claimed.id, claimed.type,
               claimed.endpoint_id, claimed.attempts, last ? ", giving up" : ", retrying in " + std::to_string(wait.count()) + " ms",
               outcome.error.value_or(""));
  if (disabled) spdlog::error("webhook endpoint {} disabled: its deliveries have all failed for {} h", claimed.endpoint_id,
                              std::chrono::duration_cast<std::chrono::hours>(options_.disable_after).count());
}

void Worker::count(std::string_view type, std::string_view outcome) {
  auto labels = "event=\"" + std::string(type) + "\",outcome=\"" + std::string(outcome) + "\"";
  metrics_.counter("orderd_webhook_deliveries_total", "Webhook delivery attempts by event and outcome.", labels).add();
}

void Worker::refresh_gauges() {
  auto stats = database_.read([](db::Connection& c) { return repo::queue_stats(c); });
  gauges_->depth = stats.depth;
  gauges_->oldest_created_at = stats.oldest_created_at.value_or(0);
}

}  // namespace webhooks
