#pragma once
// The payments table. Plain SQL, no rules: the service decides.

#include "db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace payments::repo {

struct NewPayment {
  std::int64_t order_id = 0;
  std::int64_t user_id = 0;
  std::int64_t amount = 0;
  std::string idempotency_key;
  std::string card_brand;
  std::string card_last4;
};

struct PaymentRow {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  std::int64_t user_id = 0;
  std::int64_t amount = 0;
  std::string status;
  std::string idempotency_key;
  std::optional<std::string> gateway_reference;
  std::optional<std::string> decline_code;
  std::string card_brand;
  std::string card_last4;
  std::int64_t created_at = 0;
};

// Inserts a `processing` payment; throws db::Error unique_violation when the order already has a
// processing or succeeded one.
std::int64_t insert_processing(db::Connection& c, const NewPayment& p, std::int64_t now);
// PostgreSQL: the order held for this payment and the payment inserted, in one statement, when the
// order is the user's, unpaid, unexpired, not being paid and of exactly `p.amount`; returns the
// payment's id. nullopt when any of that is not so (nothing changed: the caller then checks each to
// name it), and always on SQLite, whose statements cannot modify data inside a WITH.
std::optional<std::int64_t> claim_at_once(db::Connection& c, const NewPayment& p, std::int64_t now);
// Moves a processing payment to succeeded or failed; false when it was no longer processing.
bool settle(db::Connection& c, std::int64_t id, std::string_view status, const std::string& reference,
            const std::string& decline_code, std::int64_t now);
// The reconciler's claim: processing payments last touched before `before`, oldest first, touched
// again (updated_at = now) in the same statement. That touch is a lease: another node's reconciler
// passes over them until they are stale again, and on PostgreSQL FOR UPDATE SKIP LOCKED keeps two
// claims running at the same moment from taking the same rows. Run it in a write transaction.
std::vector<PaymentRow> claim_stale_processing(db::Connection& c, std::int64_t before,
                                               std::int64_t now, std::int64_t limit);
std::vector<PaymentRow> for_order(db::Connection& c, std::int64_t order_id);
// settle() and then for_order() of its order (a webhook's data): on PostgreSQL in one statement, so
// the attempts cost no round trip of their own. nullopt when it was no longer processing.
std::optional<std::vector<PaymentRow>> settle_and_list(db::Connection& c, std::int64_t id, std::int64_t order_id,
                                                       std::string_view status, const std::string& reference,
                                                       const std::string& decline_code, std::int64_t now);

}  // namespace payments::repo
