#pragma once
// The catalogue: products with price and stock, listed to signed-in users, changed by staff, imported
// in bulk by the CLI. Knows nothing of HTTP; throws common::Error with the contract's codes.

#include "catalog/low_stock.hpp"
#include "catalog/repo.hpp"
#include "common/currency.hpp"
#include "common/error.hpp"
#include "common/money.hpp"
#include "db/database.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace catalog {

struct Product {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  common::Money price;
  std::int64_t stock = 0;
};

// The fields of a create (all present) or a partial update (those present).
struct ProductChange {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<common::Money> price;
  std::optional<std::int64_t> stock;
};

// A PUT or PATCH: the fields it sets, and how it may change stock while orders take from it. An
// absolute `stock` replaces the figure under the row's lock; `stock_adjustment` adds to (or takes
// from) whatever the figure is then; `expected_stock` makes the whole update conditional on the
// figure being what the client saw (else 409 stock_changed with the current figure). The same for
// name, description and price: `expected_name`, `expected_description` and `expected_price` make it
// conditional on those being what the client read (else 409 product_changed), so of two staff
// editing one product the second learns of the first instead of overwriting it.
struct ProductUpdate {
  ProductChange fields;
  std::optional<std::int64_t> stock_adjustment;
  std::optional<std::int64_t> expected_stock;
  std::optional<std::string> expected_name;
  std::optional<std::string> expected_description;
  std::optional<common::Money> expected_price;
};

constexpr std::size_t kMaxNameLength = 200;
constexpr std::size_t kMaxDescriptionLength = 10'000;
constexpr std::int64_t kMaxStock = 1'000'000'000;

// Reads a product body (JSON, or a CSV row turned into JSON) field by field, recording DRF-style
// messages into `errors`. With `partial` (PATCH) absent fields stay unset; otherwise name, price and
// stock are required and description defaults to "". A price must be one the shop's `currency` can
// charge (a whole amount of a zero-decimal currency such as JPY).
ProductChange product_change_from_json(const boost::json::object& body, bool partial, const common::Currency& currency,
                                       common::FieldErrors& errors);
// The same for PUT (`partial` false) and PATCH, with `stock_adjustment` (not with `stock`) and the
// `expected_` fields.
ProductUpdate product_update_from_json(const boost::json::object& body, bool partial, const common::Currency& currency,
                                       common::FieldErrors& errors);

boost::json::object to_json(const Product& p);

struct ProductPage {
  std::int64_t count = 0;
  std::vector<Product> products;
};

struct ImportSummary {
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
};

// What orders may take, asked inside the order's own transaction (placement may run on SQLite's
// writer thread, where every statement counts: each of these is one statement). A product can be
// ordered while it is on sale (not archived); its stock is taken by a guarded update, so check and
// decrement are one step. Orders take stock in product-id order, which keeps PostgreSQL free of
// lock-order deadlocks.
std::optional<Product> orderable(db::Connection& c, std::int64_t id);
std::optional<Product> orderable(db::Connection& c, std::string_view name);
// Takes `quantity` if the product is on sale and has that much; false (nothing changed) otherwise.
// A take that crosses below the low-stock threshold is told to `watch`'s listeners.
bool take_stock(db::Connection& c, std::int64_t id, std::int64_t quantity, const StockWatch& watch);
// Gives back the stock of a cancelled or expired order line.
void return_stock(db::Connection& c, std::int64_t id, std::int64_t quantity);

class Service {
 public:
  Service(db::Database& database, const common::Currency& currency, StockWatch watch = StockWatch())
      : database_(database), currency_(currency), watch_(std::move(watch)) {}

  // The shop's currency, which every price must be able to be charged in.
  const common::Currency& currency() const noexcept { return currency_; }

  // The low-stock threshold and its listeners: staff updates here and orders' takes report to it.
  StockWatch& stock_watch() noexcept { return watch_; }
  const StockWatch& stock_watch() const noexcept { return watch_; }

  // The database's write generation (db::Database::write_generation), for caches of the catalogue.
  std::optional<std::uint64_t> write_generation() const noexcept { return database_.write_generation(); }

  // `page_offset` is called with the count and returns the offset of the page to read (it may throw:
  // past the last page). `named_offset` is that offset when the request names it without the count
  // (?page=N): the page and its count are then read in one statement.
  ProductPage list(const std::optional<std::string>& search, std::int64_t limit,
                   std::optional<std::int64_t> named_offset,
                   const std::function<std::int64_t(std::int64_t)>& page_offset);
  Product get(std::int64_t id);
  // Up to `limit` products on sale with an id above `after_id`, by id (the export's keyset pages).
  std::vector<Product> list_after(std::int64_t after_id, std::int64_t limit);
  // Products with less than the low-stock threshold in stock, the emptiest first: the `limit` first
  // and how many in all.
  ProductPage low_stock(std::int64_t limit);
  Product create(const ProductChange& change);
  // Locks the product's row, checks `expected_stock` (409 stock_changed) and that an adjustment keeps
  // stock within 0..kMaxStock (validation_error), then writes only the fields the update sets, so a
  // sale committed before the lock is never written over with an older figure.
  Product update(std::int64_t id, const ProductUpdate& update);
  // Archives the product: it leaves the catalogue, and orders that refer to it keep showing it.
  // Products are never deleted, so nothing has to find the order lines of a product (no index on
  // order_items.product_id, whose random inserts were most of an order's WAL writes: migration 006).
  void archive(std::int64_t id);
  // Creates products by name, all in one transaction: every product or none. Products that exist
  // already get the given name, description and price, or are left as they are without
  // `update_existing` (demo data). A file's stock is the stock of the products it creates: an
  // existing product keeps its stock, which orders may be taking from while the file is read, so an
  // import never puts sold units back (stock changes go through the API's stock_adjustment or
  // expected_stock). `progress` hears how many rows are done.
  ImportSummary import(const std::vector<ProductChange>& products, bool update_existing,
                       const std::function<void(std::size_t)>& progress = {});
  // The same for products too many to hold (issue #22): `source` calls its argument once per product,
  // in order, and must give the same products each time it is called (the transaction may run again
  // after a conflict, reading the file again); still every product or none.
  using ProductSource = std::function<void(const std::function<void(const ProductChange&)>& take)>;
  ImportSummary import(const ProductSource& source, bool update_existing,
                       const std::function<void(std::size_t)>& progress = {});

 private:
  db::Database& database_;
  const common::Currency& currency_;
  StockWatch watch_;
};

}  // namespace catalog
