#include "payments/service.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "payments/repo.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

namespace payments {
namespace {

// A fresh idempotency key for one payment attempt: the gateway charges it at most once.
std::string new_key(std::int64_t order_id) {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return "order-" + std::to_string(order_id) + "-" + hex;
}

[[noreturn]] void not_payable(const orders::Order& order, std::string_view why) {
  throw common::Error("order_not_payable", "Order " + std::to_string(order.id) + " " + std::string(why),
                      {{"status", orders::to_string(order.status)}});
}

std::string decline_message(std::string_view code) {
  if (code == "incorrect_number") return "Your card number is incorrect.";
  if (code == "insufficient_funds") return "Your card has insufficient funds.";
  if (code == "expired_card") return "Your card has expired.";
  if (code == "incorrect_cvc") return "Your card's security code is incorrect.";
  return "Your card was declined.";
}

std::vector<Attempt> to_attempts(std::vector<repo::PaymentRow> rows) {
  std::vector<Attempt> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    out.push_back({r.id, common::Money::from_minor(r.amount), std::move(r.status), std::move(r.card_brand),
                   std::move(r.card_last4), std::move(r.decline_code), std::move(r.gateway_reference), r.created_at});
  }
  return out;
}

}  // namespace

struct Service::Claim {
  std::int64_t payment_id = 0;
  std::string key;
};

Service::Service(db::Database& database, orders::Service& orders, Gateway& gateway, common::Metrics& metrics,
                 Settings settings, SettleHook on_paid)
    : database_(database),
      orders_(orders),
      gateway_(gateway),
      metrics_(metrics),
      settings_(settings),
      on_paid_(std::move(on_paid)) {}

common::Counter& Service::outcome_counter(std::string_view outcome) {
  return metrics_.counter("orderd_payments_total", "Payment attempts by outcome.",
                          "outcome=\"" + std::string(outcome) + "\"");
}

Service::Claim Service::claim(std::int64_t user_id, const PaymentRequest& request) {
  Claim claim{0, new_key(request.order_id)};
  repo::NewPayment payment{request.order_id, user_id, request.amount.minor(), claim.key,
                           card_brand(request.card.number), last4(request.card.number)};
  try {
    return database_.transaction([&](db::Connection& c) {
      auto now = common::now_micros();
      // PostgreSQL, when all is well: one statement instead of three (the order, its hold, the payment).
      if (auto id = repo::claim_at_once(c, payment, now)) {
        claim.payment_id = *id;
        return claim;
      }
      auto order = orders_.load(c, request.order_id);
      if (order.user_id != user_id) throw common::Error("not_found", "Not found.");
      if (order.paid()) {
        throw common::Error("order_already_paid", "Order " + std::to_string(order.id) + " is already paid");
      }
      if (order.status != orders::OrderStatus::pending_payment) {
        not_payable(order, "is " + std::string(orders::to_string(order.status)) + " and can no longer be paid");
      }
      if (request.amount != order.total_amount) {
        throw common::Error("amount_mismatch",
                            "Amount " + request.amount.to_string() + " does not match the order total " +
                                order.total_amount.to_string(),
                            {{"amount", request.amount.to_string()}, {"total_amount", order.total_amount.to_string()}});
      }
      if (order.expires_at <= now) not_payable(order, "has expired: its reservation ran out");
      if (!orders_.begin_payment(c, order.id)) not_payable(order, "is being paid right now");
      claim.payment_id = repo::insert_processing(c, payment, now);
      return claim;
    });
  } catch (const db::Error& e) {
    // The partial unique index: another payment of this order is live. (begin_payment already
    // refuses that; the index is the last line should the two ever disagree.)
    if (e.kind() != db::Error::Kind::unique_violation) throw;
    throw common::Error("order_not_payable", "Order " + std::to_string(request.order_id) + " is being paid right now");
  }
}

orders::Order Service::settle(std::int64_t payment_id, std::int64_t order_id, bool succeeded,
                              const std::string& reference, const std::string& decline_code,
                              const orders::BeforeCommit& before_commit) {
  return database_.transaction([&](db::Connection& c) {
    auto now = common::now_micros();
    auto status = succeeded ? "succeeded" : "failed";
    std::optional<std::vector<Attempt>> attempts;
    bool settled = false;
    if (attempts_wanted_ && attempts_wanted_(c, succeeded)) {
      auto rows = repo::settle_and_list(c, payment_id, order_id, status, reference, decline_code, now);
      if (rows) attempts = to_attempts(std::move(*rows));
      settled = rows.has_value();
    } else {
      settled = repo::settle(c, payment_id, status, reference, decline_code, now);
    }
    // Not settled: someone else (the reconciler of another node) settled it first; report what is true now.
    if (!settled) return orders_.load(c, order_id);
    auto held = orders_.end_payment(c, order_id, succeeded);
    if (!held) {
      spdlog::error("payment {} of order {} settled as {} but the order was not held for it", payment_id, order_id,
                    status);
    }
    auto order = held ? std::move(*held) : orders_.load(c, order_id);
    if (succeeded && order.paid()) {
      if (on_paid_) on_paid_(c, order, attempts ? &*attempts : nullptr);
      if (before_commit) before_commit(c, order);
    }
    if (!succeeded && on_failed_) on_failed_(c, order, attempts ? &*attempts : nullptr);
    return order;
  });
}

orders::Order Service::pay(std::int64_t user_id, const PaymentRequest& request,
                           const orders::BeforeCommit& before_commit) {
  // In the currency's own minor units (yen for JPY): a fraction of a yen cannot be charged.
  auto amount_minor = settings_.currency.gateway_amount_of(request.amount);
  auto claimed = claim(user_id, request);
  ChargeRequest charge{claimed.key, amount_minor, settings_.currency.gateway_code(), request.card,
                       "orderd order " + std::to_string(request.order_id)};
  auto result = gateway_.charge(charge);
  outcome_counter(to_string(result.outcome)).add();

  switch (result.outcome) {
    case Outcome::approved:
      spdlog::info("order {} paid: payment {} charge {}", request.order_id, claimed.payment_id, result.reference);
      return settle(claimed.payment_id, request.order_id, true, result.reference, "", before_commit);
    case Outcome::declined: {
      settle(claimed.payment_id, request.order_id, false, result.reference, result.decline_code, {});
      auto code = result.decline_code.empty() ? std::string("card_declined") : result.decline_code;
      if (common::status_for(code) != 402) code = "card_declined";
      throw common::Error(code, decline_message(code));
    }
    case Outcome::error:
      spdlog::warn("payment {} of order {}: the gateway did not charge: {}", claimed.payment_id, request.order_id,
                   result.message);
      settle(claimed.payment_id, request.order_id, false, result.reference,
             result.decline_code.empty() ? "gateway_error" : result.decline_code, {});
      throw common::Error("payment_gateway_unavailable",
                          "The payment gateway could not process the payment; nothing was charged, try again later");
    case Outcome::unknown:
      break;
  }
  spdlog::warn("payment {} of order {}: outcome unknown ({}); it will be reconciled with the gateway",
               claimed.payment_id, request.order_id, result.message);
  throw common::Error("payment_gateway_unavailable",
                      "The payment gateway did not answer; the payment will be checked and settled shortly");
}

boost::json::object to_json(const Attempt& a, boost::json::storage_ptr sp) {
  auto optional = [](const std::optional<std::string>& s) {
    return s ? boost::json::value(*s) : boost::json::value(nullptr);
  };
  return boost::json::object({{"id", a.id},
                              {"amount", a.amount.to_string()},
                              {"status", a.status},
                              {"card_brand", a.card_brand},
                              {"card_last4", a.card_last4},
                              {"decline_code", optional(a.decline_code)},
                              {"gateway_reference", optional(a.gateway_reference)},
                              {"created_at", common::format_rfc3339(a.created_at)}},
                             sp);
}

std::vector<Attempt> Service::attempts(std::int64_t order_id) {
  return database_.read([&](db::Connection& c) { return attempts_in(c, order_id); });
}

std::vector<Attempt> Service::attempts_in(db::Connection& c, std::int64_t order_id) {
  return to_attempts(repo::for_order(c, order_id));
}

int Service::reconcile(std::int64_t now_micros, int batch) {
  auto cutoff = now_micros - std::chrono::duration_cast<std::chrono::microseconds>(settings_.reconcile_after).count();
  // Claimed in one short transaction; the gateway is asked outside it (no lock held over the network).
  // settle() is guarded by the status, so even a lease that ran out cannot settle a payment twice.
  auto stale = database_.transaction([&](db::Connection& c) {
    return repo::claim_stale_processing(c, cutoff, now_micros, batch);
  });
  int settled = 0;
  for (const auto& p : stale) {
    auto found = gateway_.lookup(p.idempotency_key);
    switch (found.status) {
      case LookupStatus::unavailable:
        spdlog::warn("reconciling payment {} of order {}: the gateway is unavailable; trying later", p.id, p.order_id);
        continue;
      case LookupStatus::approved:
        settle(p.id, p.order_id, true, found.reference, "", {});
        outcome_counter("reconciled_succeeded").add();
        break;
      case LookupStatus::declined:
        settle(p.id, p.order_id, false, found.reference, found.decline_code, {});
        outcome_counter("reconciled_failed").add();
        break;
      case LookupStatus::not_found:
        settle(p.id, p.order_id, false, "", "not_charged", {});
        outcome_counter("reconciled_failed").add();
        break;
    }
    spdlog::info("reconciled payment {} of order {}: {}", p.id, p.order_id, to_string(found.status));
    ++settled;
  }
  return settled;
}

}  // namespace payments
