// payments/refund_repo: every statement that writes an order's payment_status for a refund makes a
// move orders::kPaymentMoves allows (or none, for a further partial refund), and spells its guard
// and its target as the table names them.
#include "orders/status.hpp"
#include "payments/refund_repo.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

TEST(RefundWrites, FollowThePaymentMoves) {
  using enum orders::PaymentStatus;
  std::set<std::pair<orders::PaymentStatus, orders::PaymentStatus>> made;
  for (const auto& write : payments::refund_repo::payment_writes()) {
    SCOPED_TRACE(std::string(write.statement) + ": " + std::string(write.sql));
    if (write.from != write.to) {
      EXPECT_TRUE(orders::can_move(write.from, write.to));
    }
    auto guard = "WHERE id = $1 AND payment_status = '" + std::string(orders::to_string(write.from)) + "'";
    EXPECT_NE(write.sql.find(guard), std::string_view::npos);
    auto target = "payment_status = '" + std::string(orders::to_string(write.to)) + "' WHERE";
    EXPECT_NE(write.sql.find(target), std::string_view::npos);
    // Nothing is counted as refunded beyond what refunds hold.
    EXPECT_NE(write.sql.find("refunded_amount + $2 <= refund_held"), std::string_view::npos);
    made.emplace(write.from, write.to);
  }
  // Every refund move of the table has its statement.
  for (const auto& move : orders::kPaymentMoves) {
    if (move.from == awaiting) continue;  // the payment's and the cancel's, not a refund's
    EXPECT_TRUE(made.contains({move.from, move.to})) << orders::to_string(move.from) << " -> " << orders::to_string(move.to);
  }
}
