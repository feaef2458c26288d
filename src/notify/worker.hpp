#pragma once
// Sends the outbox: a thread that claims due rows in a short transaction, sends each one outside any
// transaction, then records the outcome (sent, retry later with capped exponential backoff, or
// failed after max_attempts). Mail problems delay mail and nothing else.

#include "common/log_limit.hpp"
#include "notify/mailer.hpp"
#include "notify/outbox.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace common {
class Counter;
class Metrics;
}

namespace notify {

class Templates;

struct WorkerOptions {
  std::string mail_from = "orderd <no-reply@localhost>";
  int max_attempts = 10;                            // then the row is 'failed' (staff can resend it)
  std::chrono::milliseconds retry_cap{30'000};      // longest wait between two attempts
  std::chrono::milliseconds poll_interval{1'000};   // how often an idle worker looks for due rows
  int batch_size = 10;                              // rows claimed at once
  // How long a claim holds its rows. It must outlast sending a whole batch (each send is bounded by
  // the SMTP timeout), or another worker could take over a row still being sent. Zero: batch_size
  // x send_timeout + 30 s.
  std::chrono::milliseconds lease{0};
  std::chrono::milliseconds send_timeout{30'000};
};

class OutboxWorker {
 public:
  // Registers the email metrics (orderd_emails_sent_total, orderd_emails_failed_total,
  // orderd_email_send_errors_total, orderd_email_queue_depth, orderd_email_oldest_pending_age_seconds).
  OutboxWorker(db::Database& database, const Templates& templates, Mailer& mailer, common::Metrics& metrics,
               WorkerOptions options);
  ~OutboxWorker();  // stops the thread
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;

  void start();
  // Finishes the message being sent (bounded by the SMTP timeout), puts the rest of the batch back,
  // and joins the thread.
  void stop();
  // Looks for due rows now instead of at the next poll: call it after committing an enqueue.
  void wake();

  // One pass: claim due rows, send them, record outcomes, refresh the gauges. Returns the number of
  // rows claimed. The thread calls it; tests call it directly (without start()).
  int run_once();

 private:
  struct Gauges;
  void loop();
  void deliver(const ClaimedEmail& claimed);
  Email compose(const ClaimedEmail& claimed) const;
  // A failed attempt: retried later, or marked failed once the attempts are used up or the server
  // refused the message for good (Retry::never).
  enum class Retry { while_attempts_last, never };
  void record_failure(const ClaimedEmail& claimed, const std::string& error, Retry retry = Retry::while_attempts_last);
  void refresh_gauges();
  bool stopping() const;

  db::Database& database_;
  const Templates& templates_;
  Mailer& mailer_;
  WorkerOptions options_;
  std::string domain_;
  common::Counter& sent_;
  common::Counter& failed_;
  common::Counter& send_errors_;
  std::shared_ptr<Gauges> gauges_;
  common::LogLimit retry_log_{std::chrono::seconds(10)};
  std::chrono::steady_clock::time_point gauges_refreshed_{};  // by run_once's caller only

  mutable std::mutex mutex_;
  std::condition_variable signal_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace notify
