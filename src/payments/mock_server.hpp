#pragma once
// The HTTP face of MockGateway: the protocol of docs/payment-gateway.md as routes on orderd's own
// router, served by `orderd mock-gateway`. The card rules and the memory of keys are MockGateway's.

#include "http/router.hpp"
#include "payments/mock_gateway.hpp"

namespace payments {

// Faults the mock can inject into charges, or into refunds, to test how a client copes
// (docs/payment-gateway.md). Lookups are never affected: they are how the client finds out what
// happened. Charges and refunds each have their own set, so a test can pay through a healthy mock and
// then watch its refunds fail (`refund` below is "the charge" of the comments).
struct MockFaults {
  int fail_status = 0;              // answer every charge with this status, charging nothing (0: off)
  bool reset_after_charge = false;  // charge and remember, then reset the connection instead of answering
  int fail_after_charge = 0;        // charge and remember, then answer this 5xx with a proxy's error page
  bool hang = false;                // read the charge, charge nothing and never answer
};

// POST /v1/charges, GET /v1/charges/{idempotency_key}, POST /v1/refunds and GET /v1/refunds/{idempotency_key}.
// `gateway` must outlive the router.
void register_mock_gateway_routes(http::Router& router, MockGateway& gateway, MockFaults faults = {},
                                  MockFaults refund_faults = {});

// The charge request of POST /v1/charges as the protocol defines it (the Idempotency-Key header and
// the JSON body); throws common::Error validation_error naming every bad field at once. Public for the
// fuzz target tests/fuzz/route_bodies.cpp.
ChargeRequest read_charge(const http::Request& request);
// The same for POST /v1/refunds: {"charge": "ch_...", "amount": 1250, "currency"?: "usd"}.
GatewayRefundRequest read_refund(const http::Request& request);

}  // namespace payments
