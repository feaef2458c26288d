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
class Shipping;
void register_routes(http::Router& router, Service& service, idempotency::Store& keys);

// GET /admin/orders/ (?status=, ?search=, paginated) and POST /admin/orders/{id}/cancel/.
http::Response list_orders(Service& service, http::Request& request);
http::Response cancel_order(Service& service, http::Request& request);
// POST /admin/orders/{id}/fulfilments/, .../fulfilments/{fid}/delivered/ and /admin/orders/{id}/returns/
// (orders/shipping.hpp). The two POSTs that create something take an optional Idempotency-Key.
http::Response ship_order(Shipping& shipping, idempotency::Store& keys, http::Request& request);
http::Response deliver_fulfilment(Shipping& shipping, http::Request& request);
http::Response return_items(Shipping& shipping, idempotency::Store& keys, http::Request& request);

}  // namespace orders
