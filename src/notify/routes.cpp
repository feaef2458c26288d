#include "notify/routes.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "db/database.hpp"
#include "http/pagination.hpp"
#include "http/router.hpp"
#include "notify/outbox.hpp"
#include "notify/templates.hpp"
#include "notify/worker.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <optional>

namespace notify {
namespace {

std::optional<std::string> status_filter(const http::Request& request) {
  static constexpr std::array<std::string_view, 4> kStatuses = {"pending", "sending", "sent", "failed"};
  auto status = request.query_param("status");
  if (!status || status->empty()) return std::nullopt;
  if (std::find(kStatuses.begin(), kStatuses.end(), *status) == kStatuses.end()) {
    common::FieldErrors errors;
    errors.add("status", "Must be one of: pending, sending, sent, failed.");
    errors.raise_if_any();
  }
  return std::string(*status);
}

}  // namespace

void register_routes(http::Router& router, db::Database& database, OutboxWorker& worker, const Templates& templates) {
  using http::Access;
  using http::Method;

  router.add({.method = Method::get,
              .path = "/admin/emails/",
              .access = Access::staff,
              .handler = [&database](http::Request& request) {
                auto status = status_filter(request);
                http::Page page(request);
                auto [count, rows] = database.read([&](db::Connection& c) {
                  auto count = count_emails(c, status);
                  auto offset = page.offset(count);
                  return std::pair(count, list_emails(c, status, page.size(), offset));
                });
                boost::json::array results;
                for (const auto& row : rows) results.push_back(to_json(row));
                return http::json_response(200, page.body(count, std::move(results)));
              }});

  router.add({.method = Method::post,
              .path = "/admin/emails/{id}/resend/",
              .access = Access::staff,
              .handler = [&database, &worker](http::Request& request) {
                auto id = request.id_param();
                auto row = database.transaction(
                    [&](db::Connection& c) { return resend(c, id, common::now_micros()); });
                if (!row) throw common::Error("not_found", "Not found");
                worker.wake();
                return http::json_response(200, to_json(*row));
              }});

  router.add({.method = Method::get,
              .path = "/admin/emails/{id}/preview/",
              .access = Access::staff,
              .handler = [&database, &templates](http::Request& request) {
                auto id = request.id_param();
                auto stored = database.read([&](db::Connection& c) { return find_content(c, id); });
                if (!stored) throw common::Error("not_found", "Not found");
                RenderedEmail rendered;
                try {
                  if (stored->kind != kOrderConfirmation) throw TemplateError("no template for kind " + stored->kind);
                  rendered = templates.render(boost::json::parse(stored->payload).as_object());
                } catch (const std::exception& e) {
                  // The worker marks such a row failed; staff see why instead of a bare 500.
                  throw common::Error("email_not_renderable", std::string("This email cannot be rendered: ") + e.what());
                }
                return http::json_response(200, {{"id", id},
                                                 {"recipient", stored->recipient},
                                                 {"subject", rendered.subject},
                                                 {"html", rendered.html},
                                                 {"text", rendered.text}});
              }});
}

}  // namespace notify
