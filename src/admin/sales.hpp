#pragma once
// The dashboard's sales over time (issue #22): GET /admin/dashboard/sales/?days=7|30|90. Per day of
// the shop's time zone (setting shop_timezone): orders placed, paid (and what they paid), refunded
// (and how much) and cancelled, with the period's totals and its best-selling products. The figures
// come from orders::Service::sales_between in 15-minute slots, added up here into local days.

#include "http/message.hpp"

namespace common {
class TimeZone;
}
namespace orders {
class Service;
}

namespace admin {

http::Response sales(orders::Service& orders, const common::TimeZone& zone, http::Request& q);

}  // namespace admin
