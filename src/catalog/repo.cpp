#include "catalog/repo.hpp"

namespace catalog::repo {
namespace {

// The columns product() reads, in its order.
constexpr auto kColumns = db::concat("id, name, description, price, stock");
constexpr int kColumnCount = 5;
constexpr auto kSelect = db::concat("SELECT ", kColumns, " FROM products");

// Search is a case-insensitive substring of the name, as DRF's SearchFilter does; the pattern's
// own % and _ are escaped by the caller. No search is a NULL pattern.
constexpr auto kMatching =
    db::concat(" WHERE archived = 0 AND (CAST($1 AS TEXT) IS NULL OR lower(name) LIKE $1 ESCAPE '\\')");
constexpr auto kCount = db::concat("SELECT count(*) FROM products", kMatching);
constexpr auto kList = db::concat(kSelect, kMatching, " ORDER BY id LIMIT $2 OFFSET $3");
// kList with kCount as a last column: the subquery runs once for the statement.
constexpr auto kListCounted = db::concat("SELECT ", kColumns, ", (", kCount, ") FROM products", kMatching,
                                         " ORDER BY id LIMIT $2 OFFSET $3");
// The staff dashboard's low-stock list: the emptiest first.
constexpr auto kLowStock = db::concat(" WHERE archived = 0 AND stock < $1");
constexpr auto kCountLowStock = db::concat("SELECT count(*) FROM products", kLowStock);
constexpr auto kListLowStock = db::concat(kSelect, kLowStock, " ORDER BY stock, id LIMIT $2");
constexpr auto kFind = db::concat(kSelect, " WHERE id = $1 AND archived = 0");
constexpr auto kListAfter = db::concat(kSelect, " WHERE archived = 0 AND id > $1 ORDER BY id LIMIT $2");
constexpr auto kLockPostgres = db::concat(kFind, " FOR UPDATE");
constexpr auto kFindByName = db::concat(kSelect, " WHERE name = $1 AND archived = 0");
constexpr std::string_view kInsert =
    "INSERT INTO products (name, description, price, stock, archived, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id";
// Only the columns given (a NULL parameter keeps the column): stock is never written back from an
// earlier read.
constexpr auto kUpdate = db::concat(
    "UPDATE products SET name = COALESCE($2, name), description = COALESCE($3, description),"
    " price = COALESCE($4, price), stock = COALESCE($5, stock), updated_at = $6 WHERE id = $1 AND archived = 0"
    " RETURNING ", kColumns);
constexpr std::string_view kArchive =
    "UPDATE products SET archived = 1, updated_at = $2 WHERE id = $1 AND archived = 0";
// The guard `stock >= $2` makes the check and the decrement one step: no other buyer can slip in
// between, on SQLite (one writer) or PostgreSQL (the row is locked by the update).
constexpr std::string_view kTakeStock =
    "UPDATE products SET stock = stock - $2 WHERE id = $1 AND archived = 0 AND stock >= $2 RETURNING stock";
constexpr std::string_view kReturnStock = "UPDATE products SET stock = stock + $2 WHERE id = $1";

ProductRow product(const db::Row& r) {
  return {r.integer(0), r.text(1), r.text(2), r.integer(3), r.integer(4)};
}

std::optional<ProductRow> first_product(const db::Result& result) {
  if (result.empty()) return std::nullopt;
  return product(result[0]);
}

std::vector<ProductRow> products(const db::Result& result) {
  std::vector<ProductRow> out;
  out.reserve(result.size());
  for (std::size_t i = 0; i < result.size(); ++i) out.push_back(product(result[i]));
  return out;
}

}  // namespace

std::int64_t count_active(db::Connection& c, const std::optional<std::string>& search) {
  return c.query(kCount, db::contains_pattern(search))[0].integer(0);
}

std::vector<ProductRow> list_active(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                    std::int64_t offset) {
  return products(c.query(kList, db::contains_pattern(search), limit, offset));
}

CountedRows list_active_counted(db::Connection& c, const std::optional<std::string>& search, std::int64_t limit,
                                std::int64_t offset) {
  auto result = c.query(kListCounted, db::contains_pattern(search), limit, offset);
  CountedRows counted{.count = std::nullopt, .rows = products(result)};
  if (!result.empty()) counted.count = result[0].integer(kColumnCount);
  return counted;
}

std::int64_t count_low_stock(db::Connection& c, std::int64_t below) {
  return c.query(kCountLowStock, below)[0].integer(0);
}

std::vector<ProductRow> list_low_stock(db::Connection& c, std::int64_t below, std::int64_t limit) {
  return products(c.query(kListLowStock, below, limit));
}

std::vector<ProductRow> list_active_after(db::Connection& c, std::int64_t after_id, std::int64_t limit) {
  return products(c.query(kListAfter, after_id, limit));
}

std::optional<ProductRow> find_active(db::Connection& c, std::int64_t id) {
  return first_product(c.query(kFind, id));
}

std::optional<ProductRow> find_active_by_name(db::Connection& c, std::string_view name) {
  return first_product(c.query(kFindByName, name));
}

std::optional<ProductRow> lock_active(db::Connection& c, std::int64_t id) {
  return first_product(c.query(c.sql(kFind, kLockPostgres), id));
}

std::int64_t insert(db::Connection& c, const ProductFields& p, std::int64_t now) {
  return c.query(kInsert, p.name, p.description, p.price, p.stock, now)[0].integer(0);
}

std::optional<ProductRow> update(db::Connection& c, std::int64_t id, const ProductColumns& p, std::int64_t now) {
  return first_product(c.query(kUpdate, id, p.name, p.description, p.price, p.stock, now));
}

bool archive(db::Connection& c, std::int64_t id, std::int64_t now) {
  return c.query(kArchive, id, now).affected_rows == 1;
}

std::optional<std::int64_t> take_stock(db::Connection& c, std::int64_t id, std::int64_t quantity) {
  auto left = c.query(kTakeStock, id, quantity);
  if (left.empty()) return std::nullopt;
  return left[0].integer(0);
}

void return_stock(db::Connection& c, std::int64_t id, std::int64_t quantity) {
  c.query(kReturnStock, id, quantity);
}

}  // namespace catalog::repo
