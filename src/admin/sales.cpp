#include "admin/sales.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/money.hpp"
#include "common/time_zone.hpp"
#include "orders/service.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <vector>

namespace admin {
namespace {

constexpr std::array<std::int64_t, 3> kPeriods = {7, 30, 90};
constexpr std::int64_t kDefaultPeriod = 30;
constexpr std::int64_t kTopProducts = 10;

using orders::repo::SalesFigure;

struct Day {
  std::int64_t placed = 0, paid = 0, paid_amount = 0, refunded = 0, refunded_amount = 0, cancelled = 0;

  void add(const orders::repo::SlotFigure& f) {
    switch (f.figure) {
      case SalesFigure::placed: placed += f.count; break;
      case SalesFigure::paid: add_to(paid, paid_amount, f); break;
      case SalesFigure::refunded: add_to(refunded, refunded_amount, f); break;
      case SalesFigure::cancelled: cancelled += f.count; break;
    }
  }
  void add(const Day& d) {
    placed += d.placed;
    paid += d.paid;
    paid_amount += d.paid_amount;
    refunded += d.refunded;
    refunded_amount += d.refunded_amount;
    cancelled += d.cancelled;
  }
  static void add_to(std::int64_t& count, std::int64_t& amount, const orders::repo::SlotFigure& f) {
    count += f.count;
    amount += f.amount;
  }
  boost::json::object to_json() const {
    auto money = [](std::int64_t minor) { return common::Money::from_minor(minor).to_string(); };
    return {{"placed", placed},     {"paid", paid},
            {"revenue", money(paid_amount)}, {"refunded", refunded},
            {"refunded_amount", money(refunded_amount)}, {"cancelled", cancelled}};
  }
};

// ?days: one of kPeriods (default 30).
std::int64_t period_of(const http::Request& q) {
  auto text = q.query_param("days");
  if (!text || text->empty()) return kDefaultPeriod;
  for (auto days : kPeriods) {
    if (*text == std::to_string(days)) return days;
  }
  throw common::Error("validation_error", "Unknown period",
                      {{"days", boost::json::array{"Select a valid choice: 7, 30, 90."}}});
}

boost::json::array top_json(const std::vector<orders::repo::ProductSales>& top) {
  boost::json::array out;
  for (const auto& p : top) {
    out.push_back({{"product_id", p.product_id},
                   {"product", p.product},
                   {"units", p.units},
                   {"revenue", common::Money::from_minor(p.revenue).to_string()}});
  }
  return out;
}

}  // namespace

http::Response sales(orders::Service& orders, const common::TimeZone& zone, http::Request& q) {
  auto days = period_of(q);
  auto today = zone.local_day(common::now_micros());
  auto first = today - days + 1;
  auto start = zone.day_start(first);
  auto found = orders.sales_between(start, zone.day_start(today + 1), kTopProducts);
  std::vector<Day> per_day(static_cast<std::size_t>(days));
  for (const auto& f : found.slots) {
    auto day = zone.local_day(start + f.slot * orders::repo::kSlotMicros) - first;
    if (day >= 0 && day < days) per_day[static_cast<std::size_t>(day)].add(f);
  }
  boost::json::array series;
  Day totals;
  for (std::int64_t d = 0; d < days; ++d) {
    const auto& day = per_day[static_cast<std::size_t>(d)];
    auto entry = day.to_json();
    entry["date"] = common::format_day(first + d);
    series.push_back(std::move(entry));
    totals.add(day);
  }
  return http::json_response(200, {{"days", days},
                                   {"time_zone", zone.name()},
                                   {"from", common::format_day(first)},
                                   {"to", common::format_day(today)},
                                   {"series", std::move(series)},
                                   {"totals", totals.to_json()},
                                   {"top_products", top_json(found.top)}});
}

}  // namespace admin
