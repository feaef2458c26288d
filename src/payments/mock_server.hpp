#pragma once
// The HTTP face of MockGateway: the protocol of docs/payment-gateway.md as routes on orderd's own
// router, served by `orderd mock-gateway`. The card rules and the memory of keys are MockGateway's.

#include "http/router.hpp"
#include "payments/mock_gateway.hpp"

namespace payments {

// POST /v1/charges and GET /v1/charges/{idempotency_key}. `gateway` must outlive the router.
void register_mock_gateway_routes(http::Router& router, MockGateway& gateway);

// The charge request of POST /v1/charges as the protocol defines it (the Idempotency-Key header and
// the JSON body); throws common::Error validation_error naming every bad field at once. Public for the
// fuzz target tests/fuzz/route_bodies.cpp.
ChargeRequest read_charge(const http::Request& request);

}  // namespace payments
