#include "admin/routes.hpp"

#include "admin/exports.hpp"
#include "admin/sales.hpp"
#include "auth/routes.hpp"
#include "catalog/service.hpp"
#include "common/clock.hpp"
#include "common/time_zone.hpp"
#include "http/router.hpp"
#include "notify/routes.hpp"
#include "notify/service.hpp"
#include "orders/routes.hpp"
#include "orders/service.hpp"
#include "payments/refund_routes.hpp"
#include "payments/service.hpp"
#include "webhooks/routes.hpp"

#include <boost/json/array.hpp>

#include <string>

namespace admin {
namespace {

constexpr std::int64_t kLowStockShown = 10;

using http::Request;

// One order with its payment attempts and who placed it.
http::Response order_detail(orders::Service& orders, payments::Service& payments, Request& q) {
  auto order = orders.get_for_staff(q.id_param());
  return http::json_response(200, order_json(order, payments.attempts(order.id)));
}

// How the console writes money: the same table and form as the emails (common/currency.hpp).
boost::json::object currency_json(const common::Currency& c) {
  return {{"code", c.code},
          {"symbol", c.symbol},
          {"symbol_after", c.symbol_after},
          {"spaced", c.spaced},
          {"decimals", c.decimals},
          {"decimal_mark", std::string(1, c.decimal_mark)},
          {"group_mark", c.group_mark}};
}

http::Response dashboard(orders::Service& orders, catalog::Service& catalog, notify::Service& emails,
                         const common::TimeZone& zone, Request&) {
  // "Today" is the day of the shop's time zone (setting shop_timezone; UTC unless set).
  auto day = zone.local_day(common::now_micros());
  auto midnight = zone.day_start(day);
  auto today = orders.summary_since(midnight);
  auto low = catalog.low_stock(kLowStockShown);
  auto queued = emails.counts();
  boost::json::array low_stock;
  for (const auto& p : low.products) low_stock.push_back(catalog::to_json(p));
  return http::json_response(200, {{"date", common::format_day(day)},
                                   {"time_zone", zone.name()},
                                   {"orders_today", today.placed},
                                   {"paid_orders_today", today.paid},
                                   {"revenue_today", today.revenue.to_string()},
                                   {"low_stock_below", catalog.stock_watch().threshold()},
                                   {"low_stock_count", low.count},
                                   {"low_stock", std::move(low_stock)},
                                   {"emails_failed", queued.failed},
                                   {"emails_pending", queued.pending},
                                   {"currency", currency_json(emails.currency())}});
}

}  // namespace

boost::json::object order_json(const orders::Order& order, const std::vector<payments::Attempt>& attempts,
                               boost::json::storage_ptr sp) {
  auto body = orders::to_json(order, sp);
  body.reserve(body.size() + 3);
  body["user_id"] = order.user_id;
  body["email"] = order.email;
  boost::json::array payments(sp);
  for (const auto& a : attempts) payments.push_back(payments::to_json(a, sp));
  body["payments"] = std::move(payments);
  return body;
}

void register_routes(http::Router& router, auth::Service& accounts, orders::Service& orders,
                     payments::Service& payments, catalog::Service& catalog, notify::Service& emails,
                     payments::Refunds& refunds, orders::Shipping& shipping, idempotency::Store& keys,
                     const common::TimeZone& zone, webhooks::Service& hooks) {
  using http::Access;
  using http::handle;
  router.add(http::get("/admin/users/", Access::staff, handle(auth::list_users, accounts)));
  router.add(http::patch("/admin/users/{id}/", Access::staff, handle(auth::update_user, accounts)).json());
  router.add(
      http::post("/admin/users/{id}/password-reset/", Access::staff, handle(auth::send_password_reset, accounts)));
  router.add(http::get("/admin/orders/", Access::staff, handle(orders::list_orders, orders)));
  // Before {id}/, which would take "export.csv" for an id.
  router.add(http::get("/admin/orders/export.csv", Access::staff, handle(export_orders, orders, zone)));
  router.add(http::get("/admin/orders/{id}/", Access::staff, handle(order_detail, orders, payments)));
  router.add(http::post("/admin/orders/{id}/cancel/", Access::staff, handle(payments::cancel_order, orders, refunds, keys)));
  router.add(http::post("/admin/orders/{id}/refunds/", Access::staff, handle(payments::refund_order, refunds, keys)).json());
  router.add(
      http::post("/admin/orders/{id}/fulfilments/", Access::staff, handle(orders::ship_order, shipping, keys)).json());
  router.add(http::post("/admin/orders/{id}/fulfilments/{fid}/delivered/", Access::staff,
                        handle(orders::deliver_fulfilment, shipping)));
  router.add(
      http::post("/admin/orders/{id}/returns/", Access::staff, handle(orders::return_items, shipping, keys)).json());
  router.add(http::get("/admin/emails/", Access::staff, handle(notify::list_outbox, emails)));
  router.add(http::post("/admin/emails/{id}/resend/", Access::staff, handle(notify::resend_email, emails)));
  router.add(http::get("/admin/emails/{id}/preview/", Access::staff, handle(notify::preview_email, emails)));
  router.add(http::get("/admin/dashboard/", Access::staff, handle(dashboard, orders, catalog, emails, zone)));
  router.add(http::get("/admin/dashboard/sales/", Access::staff, handle(sales, orders, zone)));
  router.add(http::get("/admin/webhooks/", Access::staff, handle(webhooks::list_endpoints, hooks)));
  router.add(http::post("/admin/webhooks/", Access::staff, handle(webhooks::create_endpoint, hooks)).json());
  router.add(http::get("/admin/webhooks/{id}/", Access::staff, handle(webhooks::show_endpoint, hooks)));
  router.add(http::patch("/admin/webhooks/{id}/", Access::staff, handle(webhooks::update_endpoint, hooks)).json());
  router.add(http::del("/admin/webhooks/{id}/", Access::staff, handle(webhooks::delete_endpoint, hooks)));
  router.add(http::post("/admin/webhooks/{id}/rotate_secret/", Access::staff, handle(webhooks::rotate_secret, hooks)));
  router.add(http::post("/admin/webhooks/{id}/test/", Access::staff, handle(webhooks::send_test, hooks)));
  router.add(http::get("/admin/webhooks/{id}/deliveries/", Access::staff, handle(webhooks::list_deliveries, hooks)));
  router.add(http::post("/admin/webhooks/deliveries/{id}/redeliver/", Access::staff,
                        handle(webhooks::redeliver, hooks)));
}

}  // namespace admin
