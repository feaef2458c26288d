#include "notify/routes.hpp"

#include "http/pagination.hpp"
#include "notify/service.hpp"

#include <boost/json/array.hpp>

namespace notify {

http::Response list_outbox(Service& service, http::Request& request) {
  auto status = email_status_filter(request.query_param("status"));
  http::Page page(request);
  auto found = service.list(status, page.size(), [&](std::int64_t count) { return page.offset(count); });
  boost::json::array results;
  for (const auto& row : found.emails) results.push_back(to_json(row));
  return http::json_response(200, page.body(found.count, std::move(results)));
}

http::Response resend_email(Service& service, http::Request& request) {
  return http::json_response(200, to_json(service.resend(request.id_param())));
}

http::Response preview_email(Service& service, http::Request& request) {
  auto email = service.preview(request.id_param());
  return http::json_response(200, {{"id", email.id},
                                   {"recipient", email.recipient},
                                   {"subject", email.subject},
                                   {"html", email.html},
                                   {"text", email.text}});
}

}  // namespace notify
