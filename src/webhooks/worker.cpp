#include "webhooks/worker.hpp"

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "webhooks/events.hpp"
#include "webhooks/signing.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace webhooks {

// Read by /metrics on another thread; shared so a render after the worker is gone stays safe.
struct Worker::Gauges {
  std::atomic<std::int64_t> depth{0};
  std::atomic<std::int64_t> oldest_created_at{0};  // 0: nothing waits
};

namespace {

constexpr std::chrono::hours kLongestRetryAfter{24};  // a receiver cannot park its deliveries for longer
constexpr int kPurgeBatch = 500;                       // events forgotten in one (short) transaction
// New events sent from the log in one pass (their lease and their rows: two short transactions),
// and how long a pass's sending (new events, or claimed retries) may start posts: what has not
// started by then is left to the next pass, so a hanging receiver holds the others up for one
// timeout at most, however many of its retries are due.
constexpr int kNewEventsBatch = 500;
constexpr std::chrono::seconds kPassBudget{5};
constexpr std::string_view kNotAttempted = "not attempted";
// Deliveries open at once, and of those to one endpoint: a receiver that hangs holds up its own four
// and the others go on; one that answers slowly is not sent more at once than a small server takes.
constexpr std::size_t kInFlight = 16;
constexpr std::size_t kPerEndpoint = 4;

std::int64_t micros(std::chrono::milliseconds d) { return d.count() * 1000; }

std::chrono::milliseconds longest_wait(const std::vector<std::chrono::milliseconds>& schedule) {
  return schedule.empty() ? std::chrono::milliseconds(0) : *std::max_element(schedule.begin(), schedule.end());
}

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
      new_events_lease_(kPassBudget + options_.timeout + std::chrono::seconds(30)),
      quiet_gap_(longest_wait(options_.schedule) + options_.timeout + kPassBudget),
      gauges_(std::make_shared<Gauges>()),
      thread_("webhook sender", options_.poll_interval, [this] { drain(); }, options_.gather,
              common::Periodic::Priority::idle) {
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
  auto refreshed = std::chrono::steady_clock::now();
  while (run_once() && !stopping_) {
    // A backlog worked through in full batches: the gauges once a second, not only at its end.
    if (std::chrono::steady_clock::now() - refreshed >= std::chrono::seconds(1)) {
      refresh_gauges();
      refreshed = std::chrono::steady_clock::now();
    }
  }
  purge_old();
  refresh_gauges();
}

// Finished events older than `keep` go, with their deliveries, at most once a minute (or once per
// `keep` when that is shorter), a batch per transaction so the purge never holds the writer for long.
void Worker::purge_old() {
  auto now = common::now_micros();
  if (now - last_purge_ < micros(std::min<std::chrono::milliseconds>(options_.keep, std::chrono::minutes(1)))) return;
  last_purge_ = now;
  auto before = now - micros(options_.keep);
  int purged = 0;
  do {
    purged = database_.transaction([&](db::Connection& c) { return repo::purge(c, before, kPurgeBatch); });
    if (purged > 0) spdlog::debug("webhooks: forgot {} finished events from before the last {} h", purged,
                                  std::chrono::duration_cast<std::chrono::hours>(options_.keep).count());
  } while (purged == kPurgeBatch && !stopping_);
}

// One attempt and what it came to, recorded with the rest of its batch.
struct Worker::Attempt {
  repo::Claimed claimed;
  repo::Outcome outcome;
  std::string_view verdict;  // succeeded, retried or failed (the metric's outcome), or kNotAttempted
  std::chrono::milliseconds wait{0};  // before the retry
  bool marked = true;    // false: the claim was taken over meanwhile
  bool disabled = false;  // this failure disabled the endpoint
  bool gone = false;      // a new event's delivery whose endpoint was deleted meanwhile: no row
  bool receiver_gone = false;  // the receiver answered 410 Gone: failed, and the endpoint disabled
};

bool Worker::run_once() {
  auto now = common::now_micros();
  std::optional<repo::NewEvents> fresh;
  auto leased = database_.transaction([&](db::Connection& c) {
    fresh = repo::lease_new_events(c, now, now + micros(new_events_lease_), kNewEventsBatch);
    return repo::claim_due(c, now, now + micros(lease_), options_.batch_size);
  });
  bool more = (fresh && fresh->through - fresh->after >= kNewEventsBatch) ||
              static_cast<int>(leased.size()) == options_.batch_size;
  // The new events first, and recorded on their own: their lease is then held only while they are
  // sent, not while retries wait on a slow receiver (after a crash, new events wait for it to run out).
  if (fresh) {
    send(database_.read([&](db::Connection& c) { return repo::new_deliveries(c, *fresh); }), fresh);
  }
  if (!leased.empty()) {
    send(database_.read([&](db::Connection& c) { return repo::claimed_details(c, leased); }), std::nullopt);
  }
  return more;
}

void Worker::send(const std::vector<repo::Claimed>& claimed, const std::optional<repo::NewEvents>& fresh) {
  auto attempts = attempt_all(claimed);
  record_all(attempts, fresh);
  for (const auto& a : attempts) report(a);
}

// Several at once (kInFlight, kPerEndpoint), a slow receiver holding up only its own endpoint's share.
// What is not attempted is given back at once rather than left leased until the lease runs out: all
// that has not started when the worker is stopping or after kPassBudget (the new events' deliveries
// become pending rows, which the claim takes in its batches; claimed ones are released, due at once).
std::vector<Worker::Attempt> Worker::attempt_all(const std::vector<repo::Claimed>& claimed) {
  std::vector<Attempt> attempts;
  std::vector<std::int64_t> endpoints;
  attempts.reserve(claimed.size());
  endpoints.reserve(claimed.size());
  for (const auto& delivery : claimed) {
    attempts.push_back(Attempt{delivery, {}, kNotAttempted});
    endpoints.push_back(delivery.endpoint_id);
  }
  auto budget_end = std::chrono::steady_clock::now() + kPassBudget;
  auto make = [&](std::size_t i) -> std::optional<Post> {
    auto& a = attempts[i];
    a.outcome.at = common::now_micros();
    bool late = std::chrono::steady_clock::now() >= budget_end;
    if (stopping_ || late) return std::nullopt;
    // A test event is sent to a disabled endpoint too: staff test a fixed receiver before enabling it.
    if (!a.claimed.enabled && a.claimed.type != kTestEvent) {
      a.verdict = "failed";
      a.outcome.error = "the endpoint is disabled";
      return std::nullopt;
    }
    return request(a.claimed);
  };
  SendLimits limits{kInFlight, kPerEndpoint, options_.timeout, options_.allow_private};
  auto results = sender_.post_all(endpoints, make, limits);
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    if (results[i]) judge(attempts[i], *results[i]);
  }
  return attempts;
}

// The batch's outcomes in one write: on SQLite every transaction takes the one writer from the shop's
// sales, so one per delivery would halve place_order under load. A crash before it commits sends the
// batch again once its leases run out: at least once, with the same webhook-ids. The new events'
// deliveries are written only while their lease is still this worker's, with the cursor moving past them.
void Worker::record_all(std::vector<Attempt>& attempts, const std::optional<repo::NewEvents>& fresh) {
  if (attempts.empty() && !fresh) return;
  database_.transaction([&](db::Connection& c) {
    bool ours = !fresh || repo::pass_new_events(c, *fresh);
    auto existing = fresh ? repo::existing_endpoints(c) : std::set<std::int64_t>{};
    // An endpoint with a success in the batch is not failing (once per endpoint, and before the
    // batch's failures, which then start a new failing spell rather than disable it).
    std::set<std::int64_t> answered;
    for (auto& a : attempts) {
      a.gone = a.claimed.id == 0 && !existing.contains(a.claimed.endpoint_id);  // deleted while it was sent
      a.marked = !a.gone && (ours || a.claimed.id != 0);
      if (a.marked && a.verdict == "succeeded") answered.insert(a.claimed.endpoint_id);
    }
    for (auto endpoint : answered) repo::endpoint_succeeded(c, endpoint);
    for (auto& a : attempts) {
      if (a.marked) record(c, a);
    }
  });
}

// A delivery's POST, signed now (by both secrets during a rotation).
Post Worker::request(const repo::Claimed& claimed) const {
  auto now = common::now_micros();
  auto timestamp = now / 1'000'000;
  auto id = message_id(claimed.event_id, claimed.event_created_at);
  Post post{claimed.url, {}, message_body(claimed.type, claimed.event_created_at, claimed.payload)};
  bool previous_signs = claimed.previous_secret && claimed.previous_secret_until.value_or(0) > now;
  post.headers = {{"Content-Type", "application/json"},
                  {"webhook-id", id},
                  {"webhook-timestamp", std::to_string(timestamp)},
                  {"webhook-signature", signature_header(claimed.secret,
                                                         previous_signs ? claimed.previous_secret : std::nullopt,
                                                         id, timestamp, post.body)}};
  return post;
}

// A 2xx succeeded; anything else waits for the schedule's next step (or the receiver's longer
// Retry-After), or fails once the schedule has run out.
void Worker::judge(Attempt& a, const PostResult& result) const {
  a.outcome.at = common::now_micros();
  a.outcome.latency_ms = result.latency.count();
  if (result.status != 0) {
    a.outcome.status_code = result.status;
    a.outcome.answer = result.answer;
  }
  bool ok = result.status >= 200 && result.status < 300;
  if (ok && result.complete) {
    a.verdict = "succeeded";
    return;
  }
  // A 2xx whose answer never ended (a reset, the timeout) is a failure too, as Standard Webhooks says.
  a.outcome.error = ok                  ? "HTTP " + std::to_string(result.status) + ", cut short: " + result.error
                    : result.status != 0 ? "HTTP " + std::to_string(result.status)
                                         : result.error;
  a.verdict = "failed";
  // 410 Gone: the receiver says the endpoint is no more; Standard Webhooks has the sender disable it.
  a.receiver_gone = result.status == 410;
  auto step = static_cast<std::size_t>(a.claimed.attempts);  // the attempt just made, from 1
  if (step > options_.schedule.size() || a.receiver_gone) return;
  a.verdict = "retried";
  a.wait = options_.schedule[step - 1];
  if (result.retry_after) {  // capped in seconds: a receiver's huge figure would overflow milliseconds
    auto asked = std::min<std::chrono::seconds>(*result.retry_after, kLongestRetryAfter);
    a.wait = std::max<std::chrono::milliseconds>(a.wait, asked);
  }
}

// A new event's delivery (id 0) gets its row now, holding the outcome; a claimed one is marked. A
// delivery not attempted, or that succeeded or failed for good, has no wait: `next` is then its time.
void Worker::record(db::Connection& c, Attempt& a) const {
  const auto& d = a.claimed;
  bool attempted = a.verdict != kNotAttempted;
  bool succeeded = a.verdict == "succeeded";
  bool failed = a.verdict == "failed";
  auto next = a.outcome.at + micros(a.wait);
  if (d.id == 0) {
    repo::insert_new(c, d, succeeded ? "succeeded" : failed ? "failed" : "pending", next,
                     attempted ? std::optional(a.outcome) : std::nullopt, [&a](bool inserted) { a.marked = inserted; });
  } else if (!attempted) {
    a.marked = repo::release(c, d, a.outcome.at);
  } else if (succeeded) {
    a.marked = repo::mark_succeeded(c, d, a.outcome);
  } else {
    a.marked = failed ? repo::mark_failed(c, d, a.outcome) : repo::schedule_retry(c, d, a.outcome, next);
  }
  if (!attempted || succeeded) return;
  auto disable_if_since = a.receiver_gone ? a.outcome.at : a.outcome.at - micros(options_.disable_after);
  a.disabled = d.enabled && repo::endpoint_failed(c, d.endpoint_id, a.outcome.at, a.outcome.at - micros(quiet_gap_),
                                                  disable_if_since);
}

void Worker::report(const Attempt& a) {
  const auto& d = a.claimed;
  // A delivery by its row, or a new event's (whose row this worker did not read back) by its event.
  auto name = d.id != 0 ? "delivery " + std::to_string(d.id) : "event " + std::to_string(d.event_id);
  if (a.gone) spdlog::info("webhook {} to endpoint {}: the endpoint was deleted while it was sent", name, d.endpoint_id);
  else if (!a.marked) spdlog::warn("webhook {} to endpoint {} was attempted after its lease was taken over", name, d.endpoint_id);
  if (a.verdict == kNotAttempted) return;
  count(d.type, a.verdict);
  if (a.verdict == "succeeded") return;
  spdlog::warn("webhook {} ({} to endpoint {}) attempt {} failed{}: {}", name, d.type, d.endpoint_id, d.attempts,
               a.verdict == "failed" ? ", giving up" : ", retrying in " + std::to_string(a.wait.count()) + " ms",
               a.outcome.error.value_or(""));
  if (a.disabled) {
    // After the commit, so that a publisher reading the endpoints with the new count sees them disabled.
    disabled_.fetch_add(1, std::memory_order_acq_rel);
    if (a.receiver_gone) spdlog::error("webhook endpoint {} disabled: its receiver answered 410 Gone", d.endpoint_id);
    else spdlog::error("webhook endpoint {} disabled: its deliveries have all failed for {} h", d.endpoint_id,
                       std::chrono::duration_cast<std::chrono::hours>(options_.disable_after).count());
  }
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
