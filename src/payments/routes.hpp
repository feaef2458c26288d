#pragma once
// POST /store/make_payment/.

namespace http {
class Router;
}
namespace idempotency {
class Store;
}

namespace payments {

class Service;
void register_routes(http::Router& router, Service& service, idempotency::Store& keys);

}  // namespace payments
