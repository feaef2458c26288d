#include "common/error.hpp"
#include "common/json.hpp"
#include "orders/service.hpp"

#include <gtest/gtest.h>

namespace {

std::vector<orders::ItemRequest> items(std::string_view body) {
  boost::system::error_code ec;
  auto value = common::parse_json(body, ec);
  EXPECT_FALSE(ec) << body;
  return orders::items_from_json(value.as_object());
}

std::string code_of(std::string_view body) {
  try {
    items(body);
  } catch (const common::Error& e) {
    return e.code();
  }
  return "accepted";
}

}  // namespace

TEST(OrderItems, AcceptsNamesAndIds) {
  auto parsed = items(R"({"items": [{"productName": "Product A", "quantity": 2}, {"product_id": 7, "quantity": 10000}]})");
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(*parsed[0].product_name, "Product A");
  EXPECT_EQ(parsed[0].quantity, 2);
  EXPECT_EQ(*parsed[1].product_id, 7);
  EXPECT_EQ(parsed[1].quantity, 10000);
}

TEST(OrderItems, AnEmptyOrMissingListIsEmptyItems) {
  EXPECT_EQ(code_of(R"({})"), "empty_items");
  EXPECT_EQ(code_of(R"({"items": []})"), "empty_items");
  EXPECT_EQ(code_of(R"({"items": null})"), "empty_items");
}

TEST(OrderItems, EveryBadQuantityIsRefused) {
  for (auto q : {"0", "-1", "1.5", "\"2.5\"", "\"two\"", "10001", "\"10001\"", "1e3", "true", "null",
                 "18446744073709551615"}) {
    auto body = std::string(R"({"items": [{"productName": "A", "quantity": )") + q + "}]}";
    EXPECT_EQ(code_of(body), "validation_error") << q;
  }
}

TEST(OrderItems, AQuantityIsReadAsDrfsIntegerFieldReadIt) {
  for (auto q : {"2", "\"2\"", "2.0", "\"2.0\""}) {
    auto body = std::string(R"({"items": [{"productName": "A", "quantity": )") + q + "}]}";
    EXPECT_EQ(code_of(body), "accepted") << q;
  }
}

TEST(OrderItems, AnItemNamesItsProductOnce) {
  EXPECT_EQ(code_of(R"({"items": [{"quantity": 1}]})"), "validation_error");
  EXPECT_EQ(code_of(R"({"items": [{"productName": "A", "product_id": 1, "quantity": 1}]})"), "validation_error");
  EXPECT_EQ(code_of(R"({"items": [{"productName": "", "quantity": 1}]})"), "validation_error");
  EXPECT_EQ(code_of(R"({"items": [{"product_id": -3, "quantity": 1}]})"), "validation_error");
  EXPECT_EQ(code_of(R"({"items": ["A"]})"), "validation_error");
  EXPECT_EQ(code_of(R"({"items": {"productName": "A"}})"), "validation_error");
}

TEST(OrderItems, ErrorsAreReportedPerItem) {
  try {
    items(R"({"items": [{"productName": "A", "quantity": 1}, {"productName": "B", "quantity": 0}]})");
    FAIL() << "accepted";
  } catch (const common::Error& e) {
    const auto& list = e.details().at("items").as_array();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_TRUE(list[0].as_object().empty());
    EXPECT_TRUE(list[1].as_object().contains("quantity"));
  }
}

TEST(OrderItems, AtMostAHundredLines) {
  std::string body = R"({"items": [)";
  for (int i = 0; i < 101; ++i) body += std::string(i ? "," : "") + R"({"product_id": 1, "quantity": 1})";
  body += "]}";
  EXPECT_EQ(code_of(body), "validation_error");
}
