#include "payments/refunds.hpp"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "payments/refund_repo.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

namespace payments {
namespace {

// A fresh gateway key for one refund: the gateway refunds it at most once.
std::string new_key(std::int64_t order_id) {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return "refund-" + std::to_string(order_id) + "-" + hex;
}

Refund from_row(refund_repo::RefundRow&& r) {
  return {.id = r.id,
          .order_id = r.order_id,
          .amount = common::Money::from_minor(r.amount),
          .reason = std::move(r.reason),
          .status = std::move(r.status),
          .created_at = r.created_at,
          .return_id = r.return_id,
          .failure_code = std::move(r.failure_code),
          .updated_at = r.updated_at};
}

std::string money(std::int64_t minor) { return common::Money::from_minor(minor).to_string(); }

[[noreturn]] void exceeds(std::int64_t order_id, const refund_repo::Position& p, std::int64_t asked) {
  auto available = p.total - p.held;
  throw common::Error("refund_exceeds_payment",
                      "A refund of " + money(asked) + " is more than the " + money(available) +
                          " left to refund of order " + std::to_string(order_id),
                      {{"paid", money(p.total)}, {"refunded", money(p.held)}, {"available", money(available)}});
}

// The payment_status a succeeded refund of `amount` moves to, from where the order is.
orders::PaymentStatus refunded_status(const refund_repo::Position& p, std::int64_t amount) {
  return p.refunded + amount >= p.total ? orders::PaymentStatus::refunded : orders::PaymentStatus::partially_refunded;
}

}  // namespace

Refunds::Refunds(db::Database& database, orders::Service& orders, Gateway& gateway, common::Metrics& metrics,
                 Settings settings, OnRefunded on_refunded, OnCancelled on_cancelled)
    : database_(database),
      orders_(orders),
      gateway_(gateway),
      metrics_(metrics),
      settings_(std::move(settings)),
      on_refunded_(std::move(on_refunded)),
      on_cancelled_(std::move(on_cancelled)) {}

common::Counter& Refunds::outcome_counter(std::string_view outcome) {
  return metrics_.counter("orderd_refunds_total", "Refunds by outcome.", "outcome=\"" + std::string(outcome) + "\"");
}

Refunds::Claim Refunds::claim(db::Connection& c, const RefundRequest& r) {
  if (r.amount.minor() <= 0) throw std::invalid_argument("a refund must be of a positive amount");
  // In the currency's own minor units, as the charge was: a fraction of a yen cannot be refunded.
  auto gateway_amount = settings_.currency.gateway_amount_of(r.amount, r.return_id ? "refund" : "amount");
  auto position = refund_repo::lock_position(c, r.order_id);
  if (!position) throw common::Error("not_found", "Not found.");
  auto charge = refund_repo::paid_charge(c, r.order_id);
  if (!charge || position->payment_status == "awaiting" || position->payment_status == "none") {
    throw common::Error("order_not_paid", "Order " + std::to_string(r.order_id) + " was never paid: nothing to refund",
                        {{"payment_status", position->payment_status}});
  }
  auto now = common::now_micros();
  if (!refund_repo::hold(c, r.order_id, r.amount.minor())) exceeds(r.order_id, *position, r.amount.minor());
  Claim claim{0, r.order_id, r.amount.minor(), gateway_amount, new_key(r.order_id), charge->reference};
  std::optional<std::int64_t> staff;
  if (r.staff_id != 0) staff = r.staff_id;
  claim.refund_id = refund_repo::insert_processing(
      c, {r.order_id, charge->payment_id, r.return_id, r.amount.minor(), r.reason, claim.key, staff}, now);
  return claim;
}

boost::json::object Refunds::send(const Claim& claim) {
  auto result = gateway_.refund({claim.key, claim.charge, claim.gateway_amount, settings_.currency.gateway_code()});
  outcome_counter(to_string(result.outcome)).add();
  switch (result.outcome) {
    case RefundOutcome::succeeded:
      spdlog::info("order {} refunded {}: refund {} ({})", claim.order_id, money(claim.amount_minor), claim.refund_id,
                   result.reference);
      settle(claim.refund_id, true, result.reference, "");
      break;
    case RefundOutcome::refused:
      spdlog::warn("refund {} of order {} refused by the gateway: {}", claim.refund_id, claim.order_id,
                   result.failure_code);
      settle(claim.refund_id, false, result.reference, result.failure_code);
      break;
    case RefundOutcome::error:
      spdlog::warn("refund {} of order {}: the gateway did not refund: {}", claim.refund_id, claim.order_id,
                   result.message);
      settle(claim.refund_id, false, "", std::string(kGatewayUnavailable));
      break;
    case RefundOutcome::unknown:
      spdlog::warn("refund {} of order {}: outcome unknown ({}); it will be reconciled with the gateway",
                   claim.refund_id, claim.order_id, result.message);
      break;
  }
  return current(claim.refund_id);
}

boost::json::object Refunds::refund(const RefundRequest& r) {
  auto claimed = database_.transaction([&](db::Connection& c) { return claim(c, r); });
  return send(claimed);
}

boost::json::object Refunds::current(std::int64_t refund_id) {
  auto row = database_.read([&](db::Connection& c) { return refund_repo::find(c, refund_id); });
  if (!row) throw std::logic_error("refund " + std::to_string(refund_id) + " vanished");
  return orders::to_json(from_row(std::move(*row)));
}

bool Refunds::settle(std::int64_t refund_id, bool succeeded, const std::string& reference,
                     const std::string& failure_code) {
  return database_.transaction([&](db::Connection& c) {
    auto now = common::now_micros();
    if (!refund_repo::settle(c, refund_id, succeeded ? "succeeded" : "failed", reference, failure_code, now)) {
      return false;  // the reconciler of another node settled it first
    }
    auto row = refund_repo::find(c, refund_id);
    if (succeeded) {
      settle_succeeded(c, refund_id);
    } else if (!refund_repo::release(c, row->order_id, row->amount)) {
      spdlog::error("refund {} of order {} failed but its hold was not on the order", refund_id, row->order_id);
    }
    return true;
  });
}

// refunded_amount and payment_status follow the refund, by the guarded move of its size; then the email.
void Refunds::settle_succeeded(db::Connection& c, std::int64_t refund_id) {
  auto row = refund_repo::find(c, refund_id);
  auto position = refund_repo::lock_position(c, row->order_id);
  auto from = orders::payment_status_from_string(position->payment_status);
  auto to = refunded_status(*position, row->amount);
  if (!from || !refund_repo::record_refunded(c, row->order_id, row->amount, *from, to)) {
    spdlog::error("refund {} of order {} succeeded but the order's figures did not take it (payment_status {})",
                  refund_id, row->order_id, position->payment_status);
    return;
  }
  if (!on_refunded_) return;
  auto refunded = common::Money::from_minor(position->refunded + row->amount);
  auto order = orders_.load(c, row->order_id);
  on_refunded_(c, order, from_row(std::move(*row)), refunded);
}

std::optional<Refunds::Cancelled> Refunds::cancel_paid(std::int64_t order_id, std::int64_t staff_id) {
  struct Done {
    orders::Order order;
    std::optional<Claim> claim;
  };
  auto done = database_.transaction([&](db::Connection& c) -> std::optional<Done> {
    auto order = orders_.cancel_paid_in(c, order_id);
    if (!order) return std::nullopt;
    auto position = refund_repo::lock_position(c, order_id);
    auto remaining = common::Money::from_minor(position->total - position->held);
    std::optional<Claim> claimed;
    if (remaining.minor() > 0) claimed = claim(c, {order_id, remaining, "Order cancelled by staff", staff_id, {}});
    if (on_cancelled_) on_cancelled_(c, *order, remaining);
    return Done{std::move(*order), std::move(claimed)};
  });
  if (!done) return std::nullopt;
  Cancelled cancelled{std::move(done->order), std::nullopt};
  if (done->claim) cancelled.refund = send(*done->claim);
  return cancelled;
}

std::vector<Refund> Refunds::for_order(std::int64_t order_id) {
  auto rows = database_.read([&](db::Connection& c) { return refund_repo::for_order(c, order_id); });
  std::vector<Refund> out;
  for (auto& r : rows) out.push_back(from_row(std::move(r)));
  return out;
}

int Refunds::reconcile(std::int64_t now_micros, int batch) {
  auto cutoff = now_micros - std::chrono::duration_cast<std::chrono::microseconds>(settings_.reconcile_after).count();
  // Claimed in one short transaction (a lease), asked about outside it; settle() is guarded by the
  // status, so a refund is settled once however many nodes reconcile.
  auto stale = database_.transaction([&](db::Connection& c) {
    return refund_repo::claim_stale_processing(c, cutoff, now_micros, batch);
  });
  int settled = 0;
  for (const auto& r : stale) {
    auto found = gateway_.lookup_refund(r.idempotency_key);
    if (found.status == RefundLookupStatus::unavailable) {
      spdlog::warn("reconciling refund {} of order {}: the gateway is unavailable; trying later", r.id, r.order_id);
      continue;
    }
    bool succeeded = found.status == RefundLookupStatus::succeeded;
    auto code = found.status == RefundLookupStatus::not_found ? std::string("not_refunded") : found.failure_code;
    if (settle(r.id, succeeded, found.reference, succeeded ? "" : code)) {
      outcome_counter(succeeded ? "reconciled_succeeded" : "reconciled_failed").add();
      spdlog::info("reconciled refund {} of order {}: {}", r.id, r.order_id, to_string(found.status));
      ++settled;
    }
  }
  return settled;
}

}  // namespace payments
