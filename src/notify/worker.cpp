#include "notify/worker.hpp"

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "notify/mail_format.hpp"
#include "notify/templates.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <utility>

namespace notify {

// Read by /metrics on another thread; shared so a render after the worker is gone stays safe.
struct OutboxWorker::Gauges {
  std::atomic<std::int64_t> depth{0};
  std::atomic<std::int64_t> oldest_created_at{0};  // 0: the queue is empty
};

namespace {

std::int64_t micros(std::chrono::milliseconds d) { return d.count() * 1000; }

}  // namespace

OutboxWorker::OutboxWorker(db::Database& database, const Templates& templates, Mailer& mailer,
                           common::Metrics& metrics, WorkerOptions options)
    : database_(database),
      templates_(templates),
      mailer_(mailer),
      options_(std::move(options)),
      domain_(mail_format::domain_of(options_.mail_from)),
      sent_(metrics.counter("orderd_emails_sent_total", "Emails handed to the mail server (or written to mail_dir).")),
      failed_(metrics.counter("orderd_emails_failed_total", "Emails given up on after max attempts or a render error.")),
      send_errors_(metrics.counter("orderd_email_send_errors_total", "Failed send attempts (each is retried or given up).")),
      gauges_(std::make_shared<Gauges>()) {
  if (options_.batch_size < 1) options_.batch_size = 1;
  if (options_.lease.count() <= 0) {
    options_.lease = options_.send_timeout * options_.batch_size + std::chrono::seconds(30);
  }
  metrics.gauge("orderd_email_queue_depth", "Emails waiting to be sent (pending or being sent).",
                [g = gauges_] { return static_cast<double>(g->depth.load()); });
  metrics.gauge("orderd_email_oldest_pending_age_seconds", "Age of the oldest email not yet sent.", [g = gauges_] {
    auto oldest = g->oldest_created_at.load();
    if (oldest == 0) return 0.0;
    return std::max(0.0, static_cast<double>(common::now_micros() - oldest) / 1e6);
  });
}

OutboxWorker::~OutboxWorker() { stop(); }

void OutboxWorker::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void OutboxWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  signal_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  signal_.notify_all();
}

bool OutboxWorker::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void OutboxWorker::loop() {
  for (;;) {
    int claimed = 0;
    try {
      claimed = run_once();
    } catch (const std::exception& e) {
      // The database is busy or gone; the next poll tries again.
      spdlog::warn("email outbox: {}", e.what());
    }
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    if (claimed == options_.batch_size) continue;  // a full batch: more may be due right away
    signal_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || woken_; });
    woken_ = false;
    if (stopping_) return;
  }
}

int OutboxWorker::run_once() {
  auto now = common::now_micros();
  auto claimed = database_.transaction([&](db::Connection& c) {
    return claim_due(c, now, now + micros(options_.lease), options_.batch_size);
  });
  for (const auto& email : claimed) {
    if (stopping()) {
      // Not attempted: give it back now rather than leave it leased until the lease expires.
      database_.transaction([&](db::Connection& c) { release(c, email, common::now_micros()); });
      continue;
    }
    deliver(email);
  }
  // The gauges count the whole queue: while a backlog is worked through in full batches, once a
  // second is enough; a pass that found less than a batch (the queue is drained) refreshes them.
  auto now_steady = std::chrono::steady_clock::now();
  bool drained = std::cmp_less(claimed.size(), options_.batch_size);
  if (drained || now_steady - gauges_refreshed_ >= std::chrono::seconds(1)) {
    refresh_gauges();
    gauges_refreshed_ = now_steady;
  }
  return static_cast<int>(claimed.size());
}

Email OutboxWorker::compose(const ClaimedEmail& claimed) const {
  auto rendered = render_stored(templates_, claimed.kind, claimed.payload);
  return Email{options_.mail_from,         claimed.recipient, std::move(rendered.subject), std::move(rendered.html),
               std::move(rendered.text), message_id(claimed.id, claimed.created_at, domain_)};
}

void OutboxWorker::deliver(const ClaimedEmail& claimed) {
  Email email;
  try {
    email = compose(claimed);
  } catch (const std::exception& e) {
    // Rendering is deterministic: retrying would fail the same way.
    spdlog::error("email {} cannot be rendered, giving up: {}", claimed.id, e.what());
    database_.transaction([&](db::Connection& c) { mark_failed(c, claimed, std::string("render: ") + e.what()); });
    failed_.add();
    return;
  }
  try {
    mailer_.send(email);
  } catch (const RefusedForGood& e) {
    // RFC 5321 4.2.1: a client should not repeat a transaction that met a permanent refusal.
    record_failure(claimed, e.what(), Retry::never);
    return;
  } catch (const std::exception& e) {
    record_failure(claimed, e.what());
    return;
  }
  // Sent. If this mark is lost (crash, database error) the lease expires and the message goes out
  // again: at-least-once, with the same Message-ID.
  bool marked = database_.transaction([&](db::Connection& c) { return mark_sent(c, claimed, common::now_micros()); });
  sent_.add();
  if (marked) spdlog::info("email {} ({}) sent", claimed.id, claimed.kind);
  else spdlog::warn("email {} was sent after its claim was taken over; it may arrive twice", claimed.id);
}

void OutboxWorker::record_failure(const ClaimedEmail& claimed, const std::string& error, Retry retry) {
  send_errors_.add();
  auto now = common::now_micros();
  if (retry == Retry::never || claimed.attempts >= options_.max_attempts) {
    database_.transaction([&](db::Connection& c) { mark_failed(c, claimed, error); });
    failed_.add();
    if (retry == Retry::never) {
      spdlog::error("email {} refused by the mail server, giving up (staff may resend it): {}", claimed.id, error);
    } else {
      spdlog::error("email {} failed after {} attempts, giving up: {}", claimed.id, claimed.attempts, error);
    }
    return;
  }
  auto delay = retry_delay(claimed.attempts, options_.retry_cap);
  database_.transaction([&](db::Connection& c) { schedule_retry(c, claimed, now + micros(delay), error); });
  // With the mail server down every waiting email fails on each pass: one line per 10 s, not per email
  // (50,000 waiting wrote 1,700 lines a second; the metrics count every attempt).
  if (auto left_out = retry_log_.allow()) {
    spdlog::warn("email {} attempt {} failed, retrying in {} ms: {}{}", claimed.id, claimed.attempts, delay.count(),
                 error, common::left_out_note(*left_out));
  }
}

void OutboxWorker::refresh_gauges() {
  auto stats = database_.read([](db::Connection& c) { return queue_stats(c); });
  gauges_->depth = stats.depth;
  gauges_->oldest_created_at = stats.oldest_created_at.value_or(0);
}

}  // namespace notify
