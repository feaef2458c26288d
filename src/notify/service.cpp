#include "notify/service.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "db/database.hpp"
#include "notify/templates.hpp"
#include "notify/worker.hpp"

#include <algorithm>

namespace notify {
namespace {

[[noreturn]] void not_found() { throw common::Error("not_found", "Not found"); }

}  // namespace

std::optional<std::string> email_status_filter(std::optional<std::string_view> text) {
  if (!text || text->empty()) return std::nullopt;
  if (std::find(kEmailStatuses.begin(), kEmailStatuses.end(), *text) == kEmailStatuses.end()) {
    std::string choices;
    for (auto s : kEmailStatuses) choices += (choices.empty() ? "" : ", ") + std::string(s);
    common::FieldErrors errors;
    errors.add("status", "Must be one of: " + choices + ".");
    errors.raise_if_any();
  }
  return std::string(*text);
}

EmailPage Service::list(const std::optional<std::string>& status, std::int64_t limit,
                        const std::function<std::int64_t(std::int64_t)>& page_offset) {
  return database_.read([&](db::Connection& c) {
    EmailPage page;
    page.count = count_emails(c, status);
    auto offset = page_offset(page.count);
    page.emails = list_emails(c, status, limit, offset);
    return page;
  });
}

std::int64_t Service::purge(std::int64_t before) {
  constexpr std::int64_t kBatch = 500;  // one short transaction each: the writer is never held for long
  return database_.transaction([&](db::Connection& c) { return purge_finished(c, before, kBatch); });
}

EmailRow Service::resend(std::int64_t id) {
  auto row = database_.transaction([&](db::Connection& c) { return notify::resend(c, id, common::now_micros()); });
  if (!row) not_found();
  worker_.wake();
  return *row;
}

Preview Service::preview(std::int64_t id) {
  auto stored = database_.read([&](db::Connection& c) { return find_content(c, id); });
  if (!stored) not_found();
  RenderedEmail rendered;
  try {
    rendered = render_stored(templates_, stored->kind, stored->payload, SealedFields::hidden);
  } catch (const std::exception& e) {
    // The worker marks such a row failed; staff see why instead of a bare 500.
    throw common::Error("email_not_renderable", std::string("This email cannot be rendered: ") + e.what());
  }
  return {id, stored->recipient, std::move(rendered.subject), std::move(rendered.html), std::move(rendered.text)};
}

Service::Counts Service::counts() {
  return database_.read([](db::Connection& c) {
    return Counts{count_emails(c, std::string("failed")), count_emails(c, std::string("pending"))};
  });
}

const common::Currency& Service::currency() const { return templates_.currency(); }

}  // namespace notify
