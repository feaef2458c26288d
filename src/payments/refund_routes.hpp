#pragma once
// The staff handlers of refunds, registered by admin/routes.cpp's table: POST /admin/orders/{id}/refunds/
// and POST /admin/orders/{id}/cancel/ (which cancels a paid order with a refund, and an unpaid one as
// orders always did).

#include "http/message.hpp"
#include "payments/refunds.hpp"

#include <boost/json/value.hpp>

namespace idempotency {
class Store;
}
namespace orders {
class Service;
}

namespace payments {

// The refund body {"amount", "reason"} for an order; throws common::Error validation_error naming every
// bad field. Public for the fuzz target tests/fuzz/route_bodies.cpp.
RefundRequest refund_request_from_json(const boost::json::value& body, std::int64_t order_id, std::int64_t staff_id);

// 201 with the refund (succeeded, or processing when the gateway's answer was lost); 402 refund_failed
// when the gateway refused it, 503 payment_gateway_unavailable when it could not be asked (nothing
// refunded, the hold given back); the refund is in the error's details. Idempotency-Key required.
http::Response refund_order(Refunds& refunds, idempotency::Store& keys, http::Request& request);
// A paid order: cancelled, its stock returned and what remains refunded (200, the order with "refund");
// any other order: orders::cancel_order, as before.
http::Response cancel_order(orders::Service& orders, Refunds& refunds, idempotency::Store& keys,
                            http::Request& request);

}  // namespace payments
