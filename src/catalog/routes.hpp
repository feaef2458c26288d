#pragma once
// /store/products/: reads for signed-in users, writes for staff.

namespace http {
class Router;
}

namespace catalog {

class Service;
void register_routes(http::Router& router, Service& service);

}  // namespace catalog
