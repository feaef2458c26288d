#pragma once
// The products table. Plain SQL, no rules: the service decides.

#include "db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace catalog::repo {

struct ProductRow {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  std::int64_t price = 0;  // minor units
  std::int64_t stock = 0;
};

struct ProductFields {
  std::string name;
  std::string description;
  std::int64_t price = 0;
  std::int64_t stock = 0;
};

std::int64_t count_active(db::Connection& c, const std::optional<std::string>& search);
std::vector<ProductRow> list_active(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                    std::int64_t offset);
// Products (not archived) with less than `below` in stock, the emptiest first.
std::int64_t count_low_stock(db::Connection& c, std::int64_t below);
std::vector<ProductRow> list_low_stock(db::Connection& c, std::int64_t below, std::int64_t limit);
std::optional<ProductRow> find_active(db::Connection& c, std::int64_t id);
std::optional<ProductRow> find_active_by_name(db::Connection& c, std::string_view name);
std::int64_t insert(db::Connection& c, const ProductFields& p, std::int64_t now);
void update(db::Connection& c, std::int64_t id, const ProductFields& p, std::int64_t now);
// False when there is no such product on sale (none, or archived already).
bool archive(db::Connection& c, std::int64_t id, std::int64_t now);

}  // namespace catalog::repo
