#pragma once
// The staff API's route table: every /admin/ API route is registered here, for the staff console
// (/admin/). The views that bring several domains together live here too (one order with its
// payment attempts, the dashboard's figures); each domain answers through its own service, and this
// module owns no database table.

#include <boost/json/object.hpp>

#include <cstdint>
#include <vector>

namespace auth {
class Service;
}
namespace catalog {
class Service;
}
namespace common {
class TimeZone;
}
namespace http {
class Router;
}
namespace idempotency {
class Store;
}
namespace notify {
class Service;
}
namespace orders {
class Service;
class Shipping;
struct Order;
}
namespace payments {
class Service;
class Refunds;
struct Attempt;
}
namespace webhooks {
class Service;
}

namespace admin {

// The staff API under /admin/, all in this one table: users, orders, emails and the dashboard (the
// handlers of one domain's data stay in that domain; the console's page is console/routes.cpp's).
// `zone` is the shop's time zone (shop_timezone): the dashboard's days, the export's from/to.
void register_routes(http::Router& router, auth::Service& accounts, orders::Service& orders,
                     payments::Service& payments, catalog::Service& catalog, notify::Service& emails,
                     payments::Refunds& refunds, orders::Shipping& shipping, idempotency::Store& keys,
                     const common::TimeZone& zone, webhooks::Service& hooks);

// One order as staff see it (GET /admin/orders/{id}/): the order's body, who placed it and its payment
// attempts. Webhooks send the same as their events' data.
boost::json::object order_json(const orders::Order& order, const std::vector<payments::Attempt>& attempts,
                               boost::json::storage_ptr sp = {});

}  // namespace admin
