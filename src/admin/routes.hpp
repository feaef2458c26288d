#pragma once
// The staff API's route table: every /admin/ API route is registered here, for the staff console
// (/admin/). The views that bring several domains together live here too (one order with its
// payment attempts, the dashboard's figures); each domain answers through its own service, and this
// module owns no database table.

#include <cstdint>

namespace auth {
class Service;
}
namespace catalog {
class Service;
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
}
namespace payments {
class Service;
class Refunds;
}

namespace admin {

// The staff API under /admin/, all in this one table: users, orders, emails and the dashboard (the
// handlers of one domain's data stay in that domain; the console's page is console/routes.cpp's).
void register_routes(http::Router& router, auth::Service& accounts, orders::Service& orders,
                     payments::Service& payments, catalog::Service& catalog, notify::Service& emails,
                     payments::Refunds& refunds, orders::Shipping& shipping, idempotency::Store& keys);

}  // namespace admin
