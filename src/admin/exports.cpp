#include "admin/exports.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/money.hpp"
#include "common/time_zone.hpp"
#include "db/database.hpp"
#include "http/csv.hpp"
#include "orders/service.hpp"

#include <boost/json/array.hpp>

#include <memory>
#include <string>

namespace admin {
namespace {

// Orders per page of the export: about 100 KB of CSV for orders of a few lines.
constexpr std::int64_t kOrdersPerPage = 500;

std::string money(std::int64_t minor) { return common::Money::from_minor(minor).to_string(); }

void append_line(std::string& out, const orders::repo::ExportLine& l) {
  http::csv::append_record(
      out, {std::to_string(l.order_id), common::format_rfc3339(l.created_at), l.status, l.payment_status,
            l.fulfilment_status, http::csv::text(l.customer), http::csv::text(l.email), money(l.total_amount),
            money(l.refunded_amount), std::to_string(l.item_id), std::to_string(l.product_id),
            http::csv::text(l.product), money(l.price), std::to_string(l.quantity), money(l.price * l.quantity)});
}

// A query parameter that is a day; `errors` collects what is wrong with it.
std::optional<std::int64_t> day_param(const http::Request& q, std::string_view name, boost::json::object& errors) {
  auto text = q.query_param(name);
  if (!text || text->empty()) return std::nullopt;
  std::int64_t day = 0;
  if (common::parse_day(*text, day)) return day;
  errors[name] = boost::json::array{"Enter a date as YYYY-MM-DD."};
  return std::nullopt;
}

// The export's filter from ?status, ?search, ?from and ?to; validation_error naming each bad one.
orders::repo::ExportFilter order_filter(const http::Request& q, const common::TimeZone& zone) {
  orders::repo::ExportFilter filter;
  if (auto s = q.query_param("status"); s && !s->empty()) filter.status = std::string(*s);
  if (auto s = q.query_param("search"); s && !s->empty()) filter.customer_pattern = db::contains_pattern(*s);
  boost::json::object errors;
  auto from = day_param(q, "from", errors);
  auto to = day_param(q, "to", errors);
  if (from && to && *from > *to) errors["to"] = boost::json::array{"The last day comes before the first (from)."};
  if (!errors.empty()) throw common::Error("validation_error", "Invalid date range", std::move(errors));
  if (from) filter.from = zone.day_start(*from);
  if (to) filter.to = zone.day_start(*to + 1);
  return filter;
}

}  // namespace

http::Response export_orders(orders::Service& orders, const common::TimeZone& zone, http::Request& q) {
  auto filter = order_filter(q, zone);
  // The first page is read here, before the head goes out: a status the service refuses is a 400.
  auto first = orders.export_lines(filter, 0, kOrdersPerPage);
  struct Cursor {
    std::vector<orders::repo::ExportLine> lines;
    std::int64_t after = 0;
    bool last = false;
  };
  auto cursor = std::make_shared<Cursor>(Cursor{std::move(first)});
  auto pages = [&orders, filter, cursor](std::string& out) {
    if (cursor->last) return false;
    if (cursor->lines.empty() && cursor->after > 0) {
      cursor->lines = orders.export_lines(filter, cursor->after, kOrdersPerPage);
    }
    std::int64_t orders_seen = 0;
    for (const auto& line : cursor->lines) {
      if (line.order_id != cursor->after) ++orders_seen;
      cursor->after = line.order_id;
      append_line(out, line);
    }
    cursor->last = orders_seen < kOrdersPerPage;
    cursor->lines.clear();
    return !cursor->last;
  };
  std::string header;
  http::csv::append_record(header, {"order_id", "created_at", "status", "payment_status", "fulfilment_status",
                                    "customer", "email", "order_total", "refunded_amount", "item_id", "product_id",
                                    "product", "unit_price", "quantity", "line_total"});
  return http::csv::stream("orders.csv", std::move(header), std::move(pages));
}

}  // namespace admin
