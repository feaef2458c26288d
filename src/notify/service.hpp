#pragma once
// The email outbox as staff see it: the list, a resend, the preview, and the counts the dashboard
// shows. Like the other domains' services it runs its own transactions and throws common::Error with
// the contract's codes; the staff routes (notify/routes.cpp, admin/routes.cpp) only call it. Queueing
// (enqueue_order_confirmation, inside the settle's transaction) and sending (OutboxWorker) stay in
// outbox.* and worker.*.

#include "common/currency.hpp"
#include "notify/outbox.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace db {
class Database;
}

namespace notify {

class OutboxWorker;
class Templates;

struct EmailPage {
  std::int64_t count = 0;
  std::vector<EmailRow> emails;
};

// A stored email rendered with the running templates, as the worker would send it now.
struct Preview {
  std::int64_t id = 0;
  std::string recipient;
  std::string subject;
  std::string html;
  std::string text;
};

// The ?status= filter of the email list: nullopt when absent or empty, the status when it is one of
// kEmailStatuses, 400 validation_error otherwise.
std::optional<std::string> email_status_filter(std::optional<std::string_view> text);

class Service {
 public:
  Service(db::Database& database, OutboxWorker& worker, const Templates& templates)
      : database_(database), worker_(worker), templates_(templates) {}

  // Newest first, optionally of one status (from email_status_filter). `page_offset` is called with
  // the count and returns the offset of the page to read.
  EmailPage list(const std::optional<std::string>& status, std::int64_t limit,
                 const std::function<std::int64_t(std::int64_t)>& page_offset);
  // Makes the email due now with a fresh attempt budget (outbox.hpp's resend) and wakes the worker;
  // 404 not_found when there is no such row.
  EmailRow resend(std::int64_t id);
  // 404 not_found; 409 email_not_renderable (with the reason) when the templates cannot render it.
  Preview preview(std::int64_t id);

  // What the staff dashboard shows: emails given up on, and emails waiting, from one snapshot.
  struct Counts {
    std::int64_t failed = 0;
    std::int64_t pending = 0;
  };
  Counts counts();
  // The sweeper: forgets a batch of emails sent or given up on before `before` (microseconds), with
  // the low-stock crossings only they named; returns how many rows went (0: none left).
  std::int64_t purge(std::int64_t before);

  // The shop's currency, as the emails show it (the staff console shows money the same way).
  const common::Currency& currency() const;

 private:
  db::Database& database_;
  OutboxWorker& worker_;
  const Templates& templates_;
};

}  // namespace notify
