#pragma once
// Staff views that bring several domains together, for the staff console (/admin/): one order with
// its payment attempts, and the dashboard's figures. Each domain answers through its own service;
// this module owns no table.

#include <cstdint>

namespace catalog {
class Service;
}
namespace http {
class Router;
}
namespace notify {
class Service;
}
namespace orders {
class Service;
}
namespace payments {
class Service;
}

namespace admin {

// Products with less than this in stock are "low" on the dashboard.
inline constexpr std::int64_t kLowStockBelow = 5;

// GET /admin/orders/{id}/ and GET /admin/dashboard/ (staff).
void register_routes(http::Router& router, orders::Service& orders, payments::Service& payments,
                     catalog::Service& catalog, notify::Service& emails);

}  // namespace admin
