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

// The columns an update sets; those left empty keep what the row holds when the update runs.
struct ProductColumns {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::int64_t> price;
  std::optional<std::int64_t> stock;
};

std::int64_t count_active(db::Connection& c, const std::optional<std::string>& search);
std::vector<ProductRow> list_active(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                    std::int64_t offset);
// The same page with the count of all that match, in one statement (one snapshot). No rows (past
// the end, or nothing matches) leave the count unknown.
struct CountedRows {
  std::optional<std::int64_t> count;
  std::vector<ProductRow> rows;
};
CountedRows list_active_counted(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                std::int64_t offset);
// Products (not archived) with less than `below` in stock, the emptiest first.
std::int64_t count_low_stock(db::Connection& c, std::int64_t below);
std::vector<ProductRow> list_low_stock(db::Connection& c, std::int64_t below, std::int64_t limit);
// Up to `limit` products on sale with an id above `after_id`, by id (a keyset page: the export's).
std::vector<ProductRow> list_active_after(db::Connection& c, std::int64_t after_id, std::int64_t limit);
std::optional<ProductRow> find_active(db::Connection& c, std::int64_t id);
std::optional<ProductRow> find_active_by_name(db::Connection& c, std::string_view name);
// find_active that also locks the row until the transaction ends (PostgreSQL's FOR UPDATE; SQLite's
// one writer already excludes every other write), so placing an order waits instead of committing
// between this read and the write that follows.
std::optional<ProductRow> lock_active(db::Connection& c, std::int64_t id);
std::int64_t insert(db::Connection& c, const ProductFields& p, std::int64_t now);
// Writes the set columns of an active product and returns the row as it now is (none: archived or absent).
std::optional<ProductRow> update(db::Connection& c, std::int64_t id, const ProductColumns& p, std::int64_t now);
// False when there is no such product on sale (none, or archived already).
bool archive(db::Connection& c, std::int64_t id, std::int64_t now);
// Takes `quantity` from an active product's stock if it has that much and returns the stock left;
// nullopt (and nothing changed) if not.
std::optional<std::int64_t> take_stock(db::Connection& c, std::int64_t id, std::int64_t quantity);
// Puts `quantity` back (an order cancelled or expired), archived or not.
void return_stock(db::Connection& c, std::int64_t id, std::int64_t quantity);

}  // namespace catalog::repo
