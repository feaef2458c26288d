#pragma once
// POST /store/make_payment/.

#include "payments/service.hpp"

#include <boost/json/value.hpp>

namespace http {
class Router;
}
namespace idempotency {
class Store;
}

namespace payments {

// The make_payment body as a PaymentRequest; throws common::Error validation_error naming every bad
// field (the card number is never echoed). Public for the fuzz target tests/fuzz/route_bodies.cpp.
PaymentRequest payment_request_from_json(const boost::json::value& body);

void register_routes(http::Router& router, Service& service, idempotency::Store& keys);

}  // namespace payments
