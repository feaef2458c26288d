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
  for (auto final : {paid, cancelled, expired}) {
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
