#pragma once
// Giving money back, in the three steps of a payment, so that no database lock is held during the
// network call:
//   1. claim, in the caller's write transaction: hold the amount on the order (one guarded UPDATE:
//      what refunds hold never passes what was paid, on any number of nodes) and insert a
//      `processing` refund with its own gateway key;
//   2. send, after that transaction committed: ask the gateway to refund the order's charge;
//   3. settle, in a transaction: succeeded adds to refunded_amount and moves payment_status (with the
//      refund_issued email); failed gives the hold back.
// An outcome the gateway did not give (time-out, reset, a 5xx without a verdict) stays `processing`
// until reconcile() asks the gateway about the key: never guessed, never refunded twice.
// Staff cancel of a paid order (cancel_paid) claims what remains in the cancel's own transaction.

#include "common/currency.hpp"
#include "common/metrics.hpp"
#include "common/money.hpp"
#include "db/database.hpp"
#include "orders/service.hpp"
#include "payments/gateway.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace payments {

struct RefundRequest {
  std::int64_t order_id = 0;
  common::Money amount;
  std::string reason;
  std::int64_t staff_id = 0;
  std::optional<std::int64_t> return_id;
};

// A refund as the API writes it (and the refund_issued email reads it): the same type, and the same
// JSON (orders::to_json), as an order body's `refunds` list.
using Refund = orders::Refund;

// The failure_code of a refund the gateway did not make because it could not be asked or said it
// could not (a processing error): trying again later may work. Any other failure_code is the
// gateway's refusal (expired_or_canceled_card, ...).
inline constexpr std::string_view kGatewayUnavailable = "gateway_unavailable";

inline constexpr std::size_t kMaxReasonLength = 500;

class Refunds {
 public:
  struct Settings {
    std::chrono::milliseconds reconcile_after{30'000};  // as payments::Service::Settings
    // The shop's currency (the `currency` setting): its code and minor units go to the gateway, as a charge's.
    common::Currency currency = *common::Currency::find("USD");
  };
  // Run inside the settling transaction of a succeeded refund (the refund_issued email): the order,
  // the refund, and the total now refunded.
  using OnRefunded = std::function<void(db::Connection&, const orders::Order&, const Refund&, common::Money)>;
  // Run inside the transaction of a staff cancel of a paid order (the order_cancelled email), with the
  // amount its refund claims (zero when nothing was left to refund).
  using OnCancelled = std::function<void(db::Connection&, const orders::Order&, common::Money)>;

  // What send() needs.
  struct Claim {
    std::int64_t refund_id = 0;
    std::int64_t order_id = 0;
    std::int64_t amount_minor = 0;    // hundredths, as the database keeps money
    std::int64_t gateway_amount = 0;  // in the currency's own minor units (yen for JPY), as the gateway takes it
    std::string key;     // the refund's own gateway key
    std::string charge;  // the charge it gives back from
  };

  Refunds(db::Database& database, orders::Service& orders, Gateway& gateway, common::Metrics& metrics,
          Settings settings, OnRefunded on_refunded = {}, OnCancelled on_cancelled = {});

  // In the caller's write transaction: holds `amount` of what the order's payment took (409
  // refund_exceeds_payment with details {paid, refunded, available} as money strings), inserts a
  // processing refund with its own gateway key. 409 order_not_paid when never paid; 404 when there is
  // no such order.
  Claim claim(db::Connection& c, const RefundRequest& r);
  // After that transaction committed, no transaction open: sends to the gateway, settles (succeeded:
  // refunded_amount, payment_status, refund email; failed: the hold is released). Returns the refund
  // as it now is ("processing" when the outcome was lost).
  boost::json::object send(const Claim& claim);

  // claim() in a transaction of its own, then send(): the staff refund route.
  boost::json::object refund(const RefundRequest& r);

  struct Cancelled {
    orders::Order order;
    std::optional<boost::json::object> refund;  // none when nothing was left to refund
  };
  // Staff cancel of a paid order with nothing shipped: status paid -> cancelled, all stock returned,
  // and a refund of what remains claimed, in one transaction; then the refund is sent. Empty when the
  // order is not paid (the caller cancels it as an unpaid order). 409 order_has_shipments when
  // something was shipped.
  std::optional<Cancelled> cancel_paid(std::int64_t order_id, std::int64_t staff_id);

  // The order's refunds, oldest first.
  std::vector<Refund> for_order(std::int64_t order_id);

  // Settles the refunds whose outcome was lost, by asking the gateway; returns how many.
  int reconcile(std::int64_t now_micros, int batch = 50);

 private:
  // Applies a final outcome to a processing refund; false when someone else settled it first.
  bool settle(std::int64_t refund_id, bool succeeded, const std::string& reference, const std::string& failure_code);
  void settle_succeeded(db::Connection& c, std::int64_t refund_id);
  boost::json::object current(std::int64_t refund_id);
  common::Counter& outcome_counter(std::string_view outcome);

  db::Database& database_;
  orders::Service& orders_;
  Gateway& gateway_;
  common::Metrics& metrics_;
  Settings settings_;
  OnRefunded on_refunded_;
  OnCancelled on_cancelled_;
};

}  // namespace payments
