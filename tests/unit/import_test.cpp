// The product file reader of `orderd product import` (catalog/import.*, issue #22): a JSON array is
// read an element at a time, with each problem on the line its product begins on, like CSV records.

#include "catalog/import.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

struct Read {
  std::vector<catalog::ProductChange> products;
  std::vector<std::string> problems;
  std::size_t rows = 0;
};

Read read(const std::string& text, catalog::FileFormat format = catalog::FileFormat::json) {
  std::istringstream in(text);
  auto reader = catalog::read_products(in, format, *common::Currency::find("USD"));
  Read out;
  catalog::ProductChange product;
  while (reader->next(product, out.problems)) out.products.push_back(product);
  out.rows = reader->rows();
  return out;
}

}  // namespace

TEST(ProductImport, ReadsEachElementOfAJsonArrayWithItsExactPrice) {
  auto r = read("\xEF\xBB\xBF [\n  {\"name\": \"Kettle, [big]\", \"price\": 59.9, \"stock\": 3},\n"
                "  {\"name\": \"Mug \\\"}\\\\\", \"description\": \"a ] b\", \"price\": \"12\", \"stock\": 10}\n]\n");
  ASSERT_TRUE(r.problems.empty()) << r.problems[0];
  ASSERT_EQ(r.products.size(), 2u);
  EXPECT_EQ(*r.products[0].name, "Kettle, [big]");
  EXPECT_EQ(r.products[0].price->minor(), 5990);
  EXPECT_EQ(*r.products[1].name, "Mug \"}\\");
  EXPECT_EQ(*r.products[1].description, "a ] b");
  EXPECT_EQ(read("[]").rows, 0u);
}

TEST(ProductImport, NamesTheLineEachBadProductBeginsOnAndGoesOnToTheNext) {
  auto r = read("[\n  {\"name\": \"A\", \"price\": 1, \"stock\": 1},\n  {\"name\": \"\",\n   \"price\": 1, \"stock\": 1},\n"
                "  7,\n  {\"name\": \"B\", \"price\": 1.234, \"stock\": 1},\n  {\"name\": \"C\", \"price\": 2, \"stock\": 2}\n]");
  EXPECT_EQ(r.products.size(), 2u);
  EXPECT_EQ(r.rows, 5u);
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0].rfind("line 3: name", 0), 0u) << r.problems[0];
  EXPECT_EQ(r.problems[1], "line 5: expected an object");
  EXPECT_EQ(r.problems[2].rfind("line 6: price", 0), 0u) << r.problems[2];
}

// Found by the json fuzz target (tests/fuzz/corpus/json/strings_lines) in the reader before this one:
// a string delivered in parts (a long one, or one with escapes) was counted once per part, so every
// element after it was given the wrong line.
TEST(ProductImport, ALongStringWithEscapesIsOneElementOnItsOwnLine) {
  auto r = read("[\n\"a\",\n\"b\\n\\u0041" + std::string(5000, 'x') + "\",\n{\"c\": 1}\n]");
  ASSERT_EQ(r.problems.size(), 5u);  // the object lacks name, price and stock
  EXPECT_EQ(r.problems[0], "line 2: expected an object");
  EXPECT_EQ(r.problems[1], "line 3: expected an object");
  EXPECT_EQ(r.problems[2].rfind("line 4: ", 0), 0u) << r.problems[2];
}

TEST(ProductImport, AFileThatIsNotOneJsonArrayIsAProblemWithItsLine) {
  auto first = [](const std::string& text) {
    auto r = read(text);
    return r.problems.empty() ? std::string("(none)") : r.problems[0];
  };
  EXPECT_EQ(first("{\"name\": \"A\"}"), "line 1: expected a JSON array of products");
  EXPECT_EQ(first(""), "line 1: expected a JSON array of products");
  EXPECT_EQ(first("[\n{\"name\": \"A\", \"price\": 1, \"stock\": 1}\n"), "line 3: the file ends inside the array");
  EXPECT_EQ(first("[\n{\"name\": \"A\", \"price\": 1, \"stock\": 1}\n]\nmore"), "line 4: unexpected text after the array");
  EXPECT_EQ(first("[\n{\"name\": \"A\", \"price\": 1, \"stock\": 1},\n]"), "line 3: expected a product");
  EXPECT_EQ(first("[\n{\"name\": \"A\" \"price\": 1}\n]").rfind("line 2: not valid JSON", 0), 0u);
  EXPECT_EQ(first("[\n\"never closed]\n"), "line 3: the file ends inside the array");
}

TEST(ProductImport, AProductOfMoreThanOneMebibyteEndsTheReading) {
  std::string huge(1 << 20, 'x');
  auto json = read("[\n{\"name\": \"A\", \"price\": 1, \"stock\": 1},\n{\"name\": \"" + huge + "\"}\n]");
  ASSERT_EQ(json.problems.size(), 1u);
  EXPECT_EQ(json.problems[0], "line 3: a product of more than 1 MiB; nothing after it was read");
  auto csv = read("name,description,price,stock\nA,,1,1\nB," + huge + ",1,1\n", catalog::FileFormat::csv);
  ASSERT_EQ(csv.problems.size(), 1u);
  EXPECT_EQ(csv.problems[0], "line 3: a product of more than 1 MiB; nothing after it was read");
}
