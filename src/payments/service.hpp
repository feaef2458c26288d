#pragma once
// Paying for an order in three steps, so that no database lock is held during the network call:
//   1. claim: in a transaction, check owner, status and amount, hold the order and insert a
//      `processing` payment (the partial unique index allows one live payment per order);
//   2. charge the card through the gateway under the payment's own idempotency key;
//   3. settle: in a transaction, mark the payment and the order paid (and queue the confirmation
//      email with them), or mark the payment failed so the order is payable again.
// A charge whose outcome is unknown (timeout, lost connection) stays `processing`, its order held,
// until reconcile() asks the gateway about its key: never guessed, never charged twice.

#include "common/currency.hpp"
#include "common/metrics.hpp"
#include "common/money.hpp"
#include "db/database.hpp"
#include "orders/service.hpp"
#include "payments/gateway.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace payments {

// What staff see of a payment attempt: never the card, only its brand and last four digits.
struct Attempt {
  std::int64_t id = 0;
  common::Money amount;
  std::string status;  // processing, succeeded, failed
  std::string card_brand;
  std::string card_last4;
  std::optional<std::string> decline_code;
  std::optional<std::string> gateway_reference;
  std::int64_t created_at = 0;
};
boost::json::object to_json(const Attempt& attempt, boost::json::storage_ptr sp = {});

struct PaymentRequest {
  std::int64_t order_id = 0;
  common::Money amount;
  Card card;
};

class Service {
 public:
  // What commits with a settle: the order as it now is, and its payment attempts when the settle has
  // them (attempts_wanted), else null.
  using SettleHook = std::function<void(db::Connection&, const orders::Order&, const std::vector<Attempt>*)>;

  struct Settings {
    // A processing payment older than this is asked about at the gateway (at least the longest a
    // charge call can take, so the reconciler never races a call still under way).
    std::chrono::milliseconds reconcile_after{30'000};
    // The shop's currency (the `currency` setting): its code and minor units go to the gateway.
    common::Currency currency = *common::Currency::find("USD");
  };

  Service(db::Database& database, orders::Service& orders, Gateway& gateway, common::Metrics& metrics,
          Settings settings, SettleHook on_paid);

  // Charges the order's total; returns the paid order. Errors: 404 not_found (not the caller's),
  // 400 amount_mismatch, 409 order_already_paid / order_not_payable, 402 card codes, 503
  // payment_gateway_unavailable. `before_commit` runs in the settling transaction of a successful
  // payment (after `on_paid`), with the order as paid.
  orders::Order pay(std::int64_t user_id, const PaymentRequest& request,
                    const orders::BeforeCommit& before_commit = {});

  // Every payment attempt of an order, oldest first (staff); attempts_in reads them in the caller's
  // transaction (a webhook's data).
  std::vector<Attempt> attempts(std::int64_t order_id);
  std::vector<Attempt> attempts_in(db::Connection& c, std::int64_t order_id);

  // Set once, before serving: what commits with each settle of a payment as failed (a decline, a
  // gateway error, the reconciler's verdict), with the order as it now is.
  void on_failed(SettleHook hook) { on_failed_ = std::move(hook); }
  // Set once, before serving: whether the hooks of a settle (`succeeded` its outcome) will want the
  // order's payment attempts (a webhook's data). The settle's own statement then returns them: on
  // PostgreSQL they cost no round trip of their own.
  void attempts_wanted(std::function<bool(db::Connection&, bool succeeded)> wanted) {
    attempts_wanted_ = std::move(wanted);
  }

  // Settles the payments whose charge outcome was lost, by asking the gateway; returns how many.
  int reconcile(std::int64_t now_micros, int batch = 50);

 private:
  struct Claim;
  Claim claim(std::int64_t user_id, const PaymentRequest& request);
  // Applies a final outcome to a processing payment; returns the order as it now is.
  orders::Order settle(std::int64_t payment_id, std::int64_t order_id, bool succeeded, const std::string& reference,
                       const std::string& decline_code, const orders::BeforeCommit& before_commit);
  common::Counter& outcome_counter(std::string_view outcome);

  db::Database& database_;
  orders::Service& orders_;
  Gateway& gateway_;
  common::Metrics& metrics_;
  Settings settings_;
  SettleHook on_paid_;    // runs in every successful settle (the confirmation email, the order.paid webhook)
  SettleHook on_failed_;  // runs in every failed settle (the payment.failed webhook)
  std::function<bool(db::Connection&, bool)> attempts_wanted_;
};

}  // namespace payments
