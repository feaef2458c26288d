#pragma once
// The HTTP face of MockGateway: the protocol of docs/payment-gateway.md as routes on orderd's own
// router, served by `orderd mock-gateway`. The card rules and the memory of keys are MockGateway's.

#include "http/router.hpp"
#include "payments/mock_gateway.hpp"

namespace payments {

// POST /v1/charges and GET /v1/charges/{idempotency_key}. `gateway` must outlive the router.
void register_mock_gateway_routes(http::Router& router, MockGateway& gateway);

}  // namespace payments
