#pragma once
// /store/place_order/, /store/orders/..., and the staff view /admin/orders/.

namespace http {
class Router;
}
namespace idempotency {
class Store;
}

namespace orders {

class Service;
void register_routes(http::Router& router, Service& service, idempotency::Store& keys);

}  // namespace orders
