// orders/status.hpp: the order's statuses, their names, the table of moves, and the repository's
// status-changing statements held to that table.
#include "orders/repo.hpp"
#include "orders/service.hpp"
#include "orders/status.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace {

using orders::OrderStatus;

std::string migration(std::string_view dialect, std::string_view file) {
  std::ifstream in(std::string(ORDERD_SOURCE_DIR) + "/src/db/migrations/" + std::string(dialect) + "/" +
                   std::string(file));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST(OrderStatus, NamesRoundTrip) {
  std::set<std::string_view> names;
  for (auto status : orders::kOrderStatuses) {
    auto name = orders::to_string(status);
    names.insert(name);
    EXPECT_EQ(orders::order_status_from_string(name), status) << name;
  }
  EXPECT_EQ(names, (std::set<std::string_view>{"pending_payment", "paid", "cancelled", "expired"}));
  EXPECT_EQ(orders::order_status_choices(), "pending_payment, paid, cancelled, expired");
  for (auto text : {"", "PAID", "paid ", "refunded", "pending"}) {
    EXPECT_FALSE(orders::order_status_from_string(text)) << text;
  }
}

TEST(OrderStatus, TableOfMoves) {
  using enum OrderStatus;
  EXPECT_EQ(orders::kInitialStatus, pending_payment);
  EXPECT_TRUE(orders::can_move(pending_payment, paid));
  EXPECT_TRUE(orders::can_move(pending_payment, cancelled));
  EXPECT_TRUE(orders::can_move(pending_payment, expired));
  EXPECT_FALSE(orders::is_final(pending_payment));
  // Staff may cancel a paid order (with a refund); nothing else leaves paid.
  EXPECT_TRUE(orders::can_move(paid, cancelled));
  EXPECT_FALSE(orders::is_final(paid));
  for (auto to : {pending_payment, paid, expired}) EXPECT_FALSE(orders::can_move(paid, to)) << orders::to_string(to);
  for (auto final : {cancelled, expired}) {
    EXPECT_TRUE(orders::is_final(final)) << orders::to_string(final);
    for (auto to : orders::kOrderStatuses) EXPECT_FALSE(orders::can_move(final, to)) << orders::to_string(to);
  }
  EXPECT_FALSE(orders::can_move(pending_payment, pending_payment));
}

// Every status write of the repository makes a move the table allows, and spells its guard (the
// from-state, or a new order's status) as the table does; every move of the table has a statement.
TEST(OrderStatus, RepositoryFollowsTheTable) {
  std::set<std::pair<OrderStatus, OrderStatus>> made;
  for (const auto& write : orders::repo::status_writes()) {
    SCOPED_TRACE(std::string(write.statement));
    if (!write.from) {
      EXPECT_EQ(write.to, orders::kInitialStatus);
      EXPECT_NE(write.sql.find("'" + std::string(orders::to_string(write.to)) + "'"), std::string_view::npos);
      continue;
    }
    EXPECT_TRUE(orders::can_move(*write.from, write.to));
    auto guard = "status = '" + std::string(orders::to_string(*write.from)) + "'";
    EXPECT_NE(write.sql.find(guard), std::string_view::npos) << write.sql;
    made.emplace(*write.from, write.to);
  }
  for (const auto& t : orders::kTransitions) {
    EXPECT_TRUE(made.contains({t.from, t.to})) << orders::to_string(t.from) << " -> " << orders::to_string(t.to);
  }
}

// The schema's CHECKs say what the code says: the same status names, the same quantity limit.
TEST(OrderStatus, SchemaAgrees) {
  for (auto dialect : {"sqlite", "postgres"}) {
    auto sql = migration(dialect, "003_orders.sql");
    ASSERT_FALSE(sql.empty()) << dialect;
    std::string names;
    for (auto status : orders::kOrderStatuses) {
      names += (names.empty() ? "'" : ", '") + std::string(orders::to_string(status)) + "'";
    }
    EXPECT_NE(sql.find("status IN (" + names + ")"), std::string::npos) << dialect;
    EXPECT_NE(sql.find("quantity BETWEEN 1 AND " + std::to_string(orders::kMaxQuantity)), std::string::npos) << dialect;
  }
}

TEST(OrderItemsJson, OneShapeWithOrWithoutIds) {
  orders::Item item{7, "Product A", common::Money::from_minor(1250), 3};
  auto with = orders::items_json({item}, orders::ItemIds::with);
  ASSERT_EQ(with.size(), 1u);
  const auto& line = with[0].as_object();
  ASSERT_EQ(line.size(), 5u);
  EXPECT_EQ(line.begin()->key(), "product_id");
  EXPECT_EQ(line.at("product_id"), 7);
  EXPECT_EQ(line.at("product"), "Product A");
  EXPECT_EQ(line.at("price"), "12.50");
  EXPECT_EQ(line.at("quantity"), 3);
  EXPECT_EQ(line.at("totalprice"), "37.50");
  auto without = orders::items_json({item}, orders::ItemIds::without);
  EXPECT_FALSE(without[0].as_object().contains("product_id"));
  EXPECT_EQ(without[0].as_object().size(), 4u);
}

TEST(OrderAxes, NamesRoundTripAndTheSchemaAgrees) {
  std::string payment_names, fulfilment_names;
  for (auto status : orders::kPaymentStatuses) {
    EXPECT_EQ(orders::payment_status_from_string(orders::to_string(status)), status);
    payment_names += (payment_names.empty() ? "'" : ", '") + std::string(orders::to_string(status)) + "'";
  }
  for (auto status : orders::kFulfilmentStatuses) {
    EXPECT_EQ(orders::fulfilment_status_from_string(orders::to_string(status)), status);
    fulfilment_names += (fulfilment_names.empty() ? "'" : ", '") + std::string(orders::to_string(status)) + "'";
  }
  EXPECT_FALSE(orders::payment_status_from_string("pending_payment"));
  EXPECT_FALSE(orders::fulfilment_status_from_string("shipped"));
  for (auto dialect : {"sqlite", "postgres"}) {
    auto sql = migration(dialect, "009_after_payment.sql");
    ASSERT_FALSE(sql.empty()) << dialect;
    EXPECT_NE(sql.find("payment_status IN (" + payment_names + ")"), std::string::npos) << dialect;
    // The CHECK wraps its list over two lines; compare without the line break.
    std::string flat;
    for (std::size_t i = 0; i < sql.size(); ++i) {
      if (sql[i] == '\n') {
        while (i + 1 < sql.size() && sql[i + 1] == ' ') ++i;
        flat += ' ';
      } else {
        flat += sql[i];
      }
    }
    EXPECT_NE(flat.find("fulfilment_status IN (" + fulfilment_names + ")"), std::string::npos) << dialect;
  }
}

// The fulfilment status follows the counts, and every change of counts that shipping, delivering or
// returning one more unit can make is a move the table allows.
TEST(OrderAxes, FulfilmentFollowsTheCountsForwardOnly) {
  using enum orders::FulfilmentStatus;
  EXPECT_EQ(orders::fulfilment_status(3, 0, 0, 0), not_fulfilled);
  EXPECT_EQ(orders::fulfilment_status(3, 1, 0, 0), partially_fulfilled);
  EXPECT_EQ(orders::fulfilment_status(3, 3, 0, 0), fulfilled);
  EXPECT_EQ(orders::fulfilment_status(3, 3, 1, 0), partially_delivered);
  EXPECT_EQ(orders::fulfilment_status(3, 3, 3, 0), delivered);
  EXPECT_EQ(orders::fulfilment_status(3, 3, 3, 1), partially_returned);
  EXPECT_EQ(orders::fulfilment_status(3, 3, 3, 3), returned);
  const std::int64_t q = 3;
  for (std::int64_t s = 0; s <= q; ++s) {
    for (std::int64_t d = 0; d <= s; ++d) {
      for (std::int64_t r = 0; r <= s; ++r) {
        auto now = orders::fulfilment_status(q, s, d, r);
        for (auto next : {orders::fulfilment_status(q, s + (s < q), d, r), orders::fulfilment_status(q, s, d + (d < s), r),
                          orders::fulfilment_status(q, s, d, r + (r < s))}) {
          if (next == now) continue;
          EXPECT_TRUE(orders::can_move(now, next)) << orders::to_string(now) << " -> " << orders::to_string(next);
        }
      }
    }
  }
}

TEST(OrderAxes, PaymentMoves) {
  using enum orders::PaymentStatus;
  EXPECT_TRUE(orders::can_move(awaiting, paid));
  EXPECT_TRUE(orders::can_move(awaiting, none));
  EXPECT_TRUE(orders::can_move(paid, partially_refunded));
  EXPECT_TRUE(orders::can_move(partially_refunded, refunded));
  EXPECT_FALSE(orders::can_move(refunded, paid));
  EXPECT_FALSE(orders::can_move(none, paid));
}
