#pragma once
// The customer's order routes: /store/place_order/ and /store/orders/...; and the staff handlers of
// /admin/orders/, registered by admin/routes.cpp's table.

#include "http/message.hpp"

namespace http {
class Router;
}
namespace idempotency {
class Store;
}

namespace orders {

class Service;
void register_routes(http::Router& router, Service& service, idempotency::Store& keys);

// GET /admin/orders/ (?status=, ?search=, paginated) and POST /admin/orders/{id}/cancel/.
http::Response list_orders(Service& service, http::Request& request);
http::Response cancel_order(Service& service, http::Request& request);

}  // namespace orders
