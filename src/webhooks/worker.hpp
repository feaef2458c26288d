#pragma once
// Sends webhook deliveries: a common::Periodic thread that claims due deliveries in a short transaction
// (the email worker's design: a lease, attempts as the fencing token, SKIP LOCKED on PostgreSQL, so two
// nodes never send one attempt), POSTs them outside any transaction, several at once (at most four to
// one endpoint, so a hanging receiver holds up its own deliveries only), signed as Standard Webhooks
// says, then records the outcomes: succeeded (a 2xx), a retry on the schedule (webhook_retry_schedule, or
// later when the receiver's Retry-After asks so), or failed once the schedule has run out. An endpoint
// whose attempts have all failed for `disable_after` is disabled. Receivers' trouble delays their own
// webhooks and nothing else.
//
// A sale writes its event row and no more (migrations 016 and 017, and 018 on PostgreSQL): the worker
// leases the events after a cursor (event ids on SQLite, transaction ids on PostgreSQL), sends them to
// the endpoints subscribed then, and writes each delivery's row once, with its first attempt's outcome,
// in the transaction that moves the cursor past them. The claim then only ever takes retries,
// redeliveries and test events.
//
// The thread ("webhook sender") runs in Linux's idle scheduling class (SCHED_IDLE): sending and signing
// take only CPU time that no request thread or the database writer wants, so a burst of sales that
// fills the cores is not slowed by its own webhooks, which go out in its gaps and after it. The
// worker's transactions still run on the writer at normal priority.
//
// At-least-once: a crash between a receiver's 2xx and the mark that records it sends the attempt again
// once the lease has run out, with the same webhook-id, by which receivers recognise the repeat.

#include "common/periodic.hpp"
#include "db/database.hpp"
#include "webhooks/repo.hpp"
#include "webhooks/sender.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace common {
class Metrics;
}

namespace webhooks {

using Schedule = std::vector<std::chrono::milliseconds>;

struct WorkerOptions {
  Schedule schedule;                                     // the waits after each failed attempt
  bool allow_private = false;                            // webhook_allow_private: no address check
  std::chrono::milliseconds timeout{15'000};             // one attempt, connect to answer
  std::chrono::milliseconds poll_interval{1'000};        // how often an idle worker looks for due rows
  // Woken by a new event, the worker waits this long first, so that under load one claim and one
  // record transaction carry a batch of deliveries instead of one each (on SQLite every transaction
  // takes the one writer from the sales).
  std::chrono::milliseconds gather{20};
  int batch_size = 25;                                   // rows claimed (and their outcomes recorded) at once
  std::chrono::milliseconds disable_after = std::chrono::hours(24 * 5);
  std::chrono::milliseconds keep = std::chrono::hours(24 * 30);  // then a finished event is forgotten
};

// The webhook-id of an event: the same on every attempt and redelivery, distinct across databases that
// reuse ids (it includes the event's creation time).
std::string message_id(std::int64_t event_id, std::int64_t created_at);

// The body of an event: {"type", "timestamp" (RFC 3339, when it happened), "data"}.
std::string message_body(std::string_view type, std::int64_t created_at, const std::string& payload);

class Worker {
 public:
  // Registers orderd_webhook_deliveries_total{event,outcome}, orderd_webhook_queue_depth and
  // orderd_webhook_oldest_pending_age_seconds.
  Worker(db::Database& database, common::Metrics& metrics, WorkerOptions options);
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start() {
    stopping_ = false;
    thread_.start();
  }
  // Finishes the attempts being made (bounded by the timeout), gives the rest of the batch back, joins.
  void stop() {
    stopping_ = true;
    thread_.stop();
  }
  // Looks for due rows now instead of at the next poll: call it after committing an event.
  void wake() { thread_.wake(); }
  const WorkerOptions& options() const { return options_; }

  // One pass: lease new events, claim due deliveries, send them all, record the outcomes.
  // Returns whether more may be due at once (a full batch was leased or claimed).
  bool run_once();
  // How many endpoints this worker has disabled: the service's kept subscriptions are older after each.
  std::uint64_t disabled() const noexcept { return disabled_.load(std::memory_order_acquire); }

 private:
  struct Gauges;
  struct Attempt;
  void drain();
  // Attempts them all and records the outcomes (with `fresh`: new events' deliveries, and the cursor).
  void send(const std::vector<repo::Claimed>& claimed, const std::optional<repo::NewEvents>& fresh);
  std::vector<Attempt> attempt_all(const std::vector<repo::Claimed>& claimed);
  Post request(const repo::Claimed& claimed) const;  // a delivery's POST, signed
  void record_all(std::vector<Attempt>& attempts, const std::optional<repo::NewEvents>& fresh);
  void judge(Attempt& a, const PostResult& result) const;
  void record(db::Connection& c, Attempt& a) const;
  void report(const Attempt& a);
  void count(std::string_view type, std::string_view outcome);
  void refresh_gauges();
  void purge_old();

  db::Database& database_;
  common::Metrics& metrics_;
  WorkerOptions options_;
  std::chrono::milliseconds lease_;             // of a claimed batch
  std::chrono::milliseconds new_events_lease_;  // of new events sent from the log
  // The longest a failing endpoint goes without a failed attempt while its retries run (the schedule's
  // longest wait, a timeout, a pass): a longer quiet ends its failing spell (repo::endpoint_failed).
  std::chrono::milliseconds quiet_gap_;
  std::shared_ptr<Gauges> gauges_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> disabled_{0};
  std::int64_t last_purge_ = 0;  // microseconds; the worker's thread only
  Sender sender_;            // used by the worker's thread only
  common::Periodic thread_;  // last: stopped (by ~Worker) before the members it uses go
};

}  // namespace webhooks
