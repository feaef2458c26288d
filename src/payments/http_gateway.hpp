#pragma once
// A gateway reached over HTTP/1.1 with the JSON protocol of docs/payment-gateway.md (the one
// `orderd mock-gateway` speaks). Beast and Asio stay inside http_gateway.cpp.
//
// Each call opens one connection on the calling thread and is bounded as a whole by `timeout`.
// Failed connects (refused, reset) are retried at most twice with a short pause, with the same key,
// within that bound; nothing is retried once the request may have been sent. So:
//   could not connect, 4xx other than 402, 5xx  -> Outcome::error (not charged)
//   timeout or connection lost after sending    -> Outcome::unknown (maybe charged: lookup() later)
// Refunds follow the same rules (RefundOutcome; a 402 is `refused`).

#include "payments/gateway.hpp"

#include <chrono>
#include <string>

namespace payments {

class HttpGateway final : public Gateway {
 public:
  // `url`: "http://host[:port][/prefix]"; throws std::invalid_argument for anything else.
  HttpGateway(const std::string& url, std::chrono::milliseconds timeout);

  ChargeResult charge(const ChargeRequest& request) override;
  LookupResult lookup(const std::string& idempotency_key) override;
  RefundResult refund(const GatewayRefundRequest& request) override;
  RefundLookupResult lookup_refund(const std::string& idempotency_key) override;

 private:
  std::string host_;
  std::string port_;
  std::string prefix_;  // path before /v1/..., without a trailing slash
  std::chrono::milliseconds timeout_;
};

}  // namespace payments
