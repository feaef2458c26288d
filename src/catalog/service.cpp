#include "catalog/service.hpp"

#include "common/clock.hpp"
#include "common/json.hpp"
#include "common/text.hpp"

#include <boost/json/array.hpp>

namespace catalog {
namespace {

constexpr auto kNameTaken = "product with this name already exists.";

Product from_row(const repo::ProductRow& r) {
  return {r.id, r.name, r.description, common::Money::from_minor(r.price), r.stock};
}

[[noreturn]] void not_found() { throw common::Error("not_found", "Not found."); }

[[noreturn]] void name_taken() {
  throw common::Error("validation_error", std::string("Invalid input: name: ") + kNameTaken,
                      {{"name", boost::json::array{kNameTaken}}});
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void stock_changed(const repo::ProductRow& current, std::int64_t expected) {
  throw common::Error("stock_changed",
                      "The stock of product '" + current.name + "' is " + std::to_string(current.stock) + ", not " +
                          std::to_string(expected) + " as expected: nothing was changed",
                      {{"stock", current.stock}, {"expected_stock", expected}});
}

// The stock after an adjustment of the locked row's figure; a validation_error when it would leave
// 0..kMaxStock (the message says what the stock is now).
std::int64_t adjusted(const repo::ProductRow& current, std::int64_t by) {
  auto stock = current.stock + by;  // both at most kMaxStock in size: no overflow
  if (stock >= 0 && stock <= kMaxStock) return stock;
  auto message = std::string("Ensure the stock stays ") +
                 (stock < 0 ? "greater than or equal to 0" : "less than or equal to 1000000000") + ": it is " +
                 std::to_string(current.stock) + " now.";
  throw common::Error("validation_error", "Invalid input: stock_adjustment: " + message,
                      {{"stock_adjustment", boost::json::array{std::string_view(message)}}});
}

// The columns a change sets, stock aside.
repo::ProductColumns columns_but_stock(const ProductChange& change) {
  return {change.name, change.description,
          change.price ? std::optional<std::int64_t>(change.price->minor()) : std::nullopt, std::nullopt};
}

// 409 product_changed: a field the client read has been changed since (by other staff, or an import).
// details.changed has each such field's value now; the message names the fields only (a description
// may be 10,000 characters, and what the client expected it sent itself).
void check_expected(const repo::ProductRow& current, const ProductUpdate& update) {
  boost::json::object changed;
  // A name is stored trimmed: "  Oak Desk " expects the product named "Oak Desk".
  if (update.expected_name && trimmed(*update.expected_name) != current.name) changed["name"] = current.name;
  if (update.expected_description && *update.expected_description != current.description) {
    changed["description"] = current.description;
  }
  if (update.expected_price && update.expected_price->minor() != current.price) {
    changed["price"] = common::Money::from_minor(current.price).to_string();
  }
  if (changed.empty()) return;
  std::string fields;
  for (const auto& field : changed) fields += (fields.empty() ? "" : ", ") + std::string(field.key());
  throw common::Error("product_changed",
                      "Product '" + current.name + "' was changed after it was read (" + fields +
                          "): nothing was changed; details.changed has the values now",
                      {{"changed", std::move(changed)}});
}

// What an update writes, decided on the locked row: 409 product_changed or stock_changed when a field
// is not what the client expected; an adjustment becomes the figure it makes of the current stock.
repo::ProductColumns columns(const repo::ProductRow& current, const ProductUpdate& update) {
  check_expected(current, update);
  if (update.expected_stock && *update.expected_stock != current.stock) stock_changed(current, *update.expected_stock);
  auto out = columns_but_stock(update.fields);
  out.stock = update.stock_adjustment ? adjusted(current, *update.stock_adjustment) : update.fields.stock;
  return out;
}

repo::ProductFields complete(const ProductChange& change) {
  return {change.name.value_or(""), change.description.value_or(""), change.price ? change.price->minor() : 0,
          change.stock.value_or(0)};
}

// Runs a write that may collide with another product's name and reports the collision as a field error.
template <class F>
auto unique_name(F&& write) {
  try {
    return write();
  } catch (const db::Error& e) {
    if (e.kind() == db::Error::Kind::unique_violation) name_taken();
    throw;
  }
}

// A field of a body, or null when it is absent (an error when `required`) or JSON null (an error).
const boost::json::value* field_of(const boost::json::object& body, std::string_view name, bool required,
                                   common::FieldErrors& errors) {
  const auto* v = body.if_contains(name);
  if (v == nullptr && required) errors.add(name, "This field is required.");
  if (v != nullptr && v->is_null()) {
    errors.add(name, "This field may not be null.");
    return nullptr;
  }
  return v;
}

// A whole number of units from `min` to kMaxStock, with DRF's messages otherwise.
std::optional<std::int64_t> units(const boost::json::value& v, std::int64_t min, std::string_view name,
                                  common::FieldErrors& errors) {
  constexpr auto kTooLarge = "Ensure this value is less than or equal to 1000000000.";
  std::int64_t n = 0;
  // The old field (`stock`) reads as DRF's IntegerField did ("5" too); the new ones take JSON integers only.
  bool new_field_not_a_number = name != "stock" && !v.is_int64() && !v.is_uint64();
  auto read = new_field_not_a_number ? common::IntegerRead::not_integer : common::read_integer(v, n);
  if (read != common::IntegerRead::integer) {
    errors.add(name, read == common::IntegerRead::too_large ? kTooLarge : "A valid integer is required.");
  } else if (n < min) {
    errors.add(name, "Ensure this value is greater than or equal to " + std::to_string(min) + ".");
  } else if (n > kMaxStock) {
    errors.add(name, kTooLarge);
  } else {
    return n;
  }
  return std::nullopt;
}

}  // namespace

ProductChange product_change_from_json(const boost::json::object& body, bool partial, const common::Currency& currency,
                                       common::FieldErrors& errors) {
  ProductChange change;
  auto field = [&](std::string_view name) {
    return field_of(body, name, !partial && name != "description", errors);
  };
  if (const auto* v = field("name")) {
    if (!v->is_string()) errors.add("name", "Not a valid string.");
    else if (common::has_null(v->get_string())) errors.add("name", common::kNullCharacters);
    else if (auto name = trimmed(v->get_string()); name.empty()) errors.add("name", "This field may not be blank.");
    else if (common::characters(name) > kMaxNameLength) errors.add("name", "Ensure this field has no more than 200 characters.");
    else change.name = std::string(name);
  }
  if (const auto* v = field("description")) {
    if (!v->is_string()) errors.add("description", "Not a valid string.");
    else if (common::has_null(v->get_string())) errors.add("description", common::kNullCharacters);
    else if (common::characters(v->get_string()) > kMaxDescriptionLength) {
      errors.add("description", "Ensure this field has no more than 10000 characters.");
    } else change.description = std::string(v->get_string());
  }
  if (const auto* v = field("price")) {
    std::string message;
    auto price = common::money_from_json(*v, message);
    if (!price) errors.add("price", message);
    else if (!currency.gateway_amount(*price)) errors.add("price", currency.whole_amount_message());
    else change.price = price;
  }
  if (const auto* v = field("stock")) change.stock = units(*v, 0, "stock", errors);
  return change;
}

ProductUpdate product_update_from_json(const boost::json::object& body, bool partial, const common::Currency& currency,
                                       common::FieldErrors& errors) {
  ProductUpdate update;
  update.fields = product_change_from_json(body, partial, currency, errors);
  if (const auto* v = field_of(body, "stock_adjustment", false, errors)) {
    if (body.contains("stock")) errors.add("stock_adjustment", "Send stock or stock_adjustment, not both.");
    else update.stock_adjustment = units(*v, -kMaxStock, "stock_adjustment", errors);
  }
  if (const auto* v = field_of(body, "expected_stock", false, errors)) {
    update.expected_stock = units(*v, 0, "expected_stock", errors);
  }
  for (auto [name, into] : {std::pair{"expected_name", &update.expected_name},
                            std::pair{"expected_description", &update.expected_description}}) {
    if (const auto* v = field_of(body, name, false, errors)) {
      if (v->is_string()) *into = std::string(v->get_string());
      else errors.add(name, "Not a valid string.");
    }
  }
  if (const auto* v = field_of(body, "expected_price", false, errors)) {
    std::string message;
    update.expected_price = common::money_from_json(*v, message);
    if (!update.expected_price) errors.add("expected_price", message);
  }
  return update;
}

boost::json::object to_json(const Product& p) {
  return {{"id", p.id}, {"name", p.name}, {"description", p.description}, {"price", p.price.to_string()},
          {"stock", p.stock}};
}

std::optional<Product> orderable(db::Connection& c, std::int64_t id) {
  auto row = repo::find_active(c, id);
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<Product> orderable(db::Connection& c, std::string_view name) {
  auto row = repo::find_active_by_name(c, name);
  if (!row) return std::nullopt;
  return from_row(*row);
}

bool take_stock(db::Connection& c, std::int64_t id, std::int64_t quantity, const StockWatch& watch) {
  auto left = repo::take_stock(c, id, quantity);
  if (left) watch.changed(c, id, *left + quantity, *left);
  return left.has_value();
}

void return_stock(db::Connection& c, std::int64_t id, std::int64_t quantity) { repo::return_stock(c, id, quantity); }

// The shop's first page, and any page named by number, is one statement: one round trip on
// PostgreSQL instead of four (BEGIN, count, page, COMMIT). An empty answer says nothing of the count,
// so that case (and ?page=last) reads the count and then the page it picks, in one snapshot.
ProductPage Service::list(const std::optional<std::string>& search, std::int64_t limit,
                          std::optional<std::int64_t> named_offset,
                          const std::function<std::int64_t(std::int64_t)>& page_offset) {
  repo::CountedRows counted;
  if (named_offset) {
    counted = database_.read_statement(
        [&](db::Connection& c) { return repo::list_active_counted(c, search, limit, *named_offset); });
  }
  if (counted.count) {
    page_offset(*counted.count);  // the page exists: it has rows
  } else {
    counted = database_.read([&](db::Connection& c) {
      auto count = repo::count_active(c, search);
      return repo::CountedRows{.count = count, .rows = repo::list_active(c, search, limit, page_offset(count))};
    });
  }
  ProductPage page{.count = *counted.count, .products = {}};
  for (const auto& row : counted.rows) page.products.push_back(from_row(row));
  return page;
}

ProductPage Service::low_stock(std::int64_t limit) {
  auto below = watch_.threshold();
  return database_.read([&](db::Connection& c) {
    ProductPage page;
    page.count = repo::count_low_stock(c, below);
    for (const auto& row : repo::list_low_stock(c, below, limit)) page.products.push_back(from_row(row));
    return page;
  });
}

std::vector<Product> Service::list_after(std::int64_t after_id, std::int64_t limit) {
  auto rows = database_.read([&](db::Connection& c) { return repo::list_active_after(c, after_id, limit); });
  std::vector<Product> products;
  products.reserve(rows.size());
  for (const auto& row : rows) products.push_back(from_row(row));
  return products;
}

Product Service::get(std::int64_t id) {
  auto row = database_.read([&](db::Connection& c) { return repo::find_active(c, id); });
  if (!row) not_found();
  return from_row(*row);
}

Product Service::create(const ProductChange& change) {
  auto fields = complete(change);
  auto id = unique_name([&] {
    return database_.transaction([&](db::Connection& c) { return repo::insert(c, fields, common::now_micros()); });
  });
  return {id, fields.name, fields.description, common::Money::from_minor(fields.price), fields.stock};
}

Product Service::update(std::int64_t id, const ProductUpdate& update) {
  auto row = unique_name([&] {
    return database_.transaction([&](db::Connection& c) -> std::optional<repo::ProductRow> {
      auto current = repo::lock_active(c, id);
      if (!current) return std::nullopt;
      auto row = repo::update(c, id, columns(*current, update), common::now_micros());
      if (row) watch_.changed(c, id, current->stock, row->stock);
      return row;
    });
  });
  if (!row) not_found();
  return from_row(*row);
}

void Service::archive(std::int64_t id) {
  bool found = database_.transaction([&](db::Connection& c) { return repo::archive(c, id, common::now_micros()); });
  if (!found) not_found();
}

ImportSummary Service::import(const std::vector<ProductChange>& products, bool update_existing,
                              const std::function<void(std::size_t)>& progress) {
  auto each = [&products](const std::function<void(const ProductChange&)>& take) {
    for (const auto& change : products) take(change);
  };
  return import(each, update_existing, progress);
}

ImportSummary Service::import(const ProductSource& source, bool update_existing,
                              const std::function<void(std::size_t)>& progress) {
  return unique_name([&] {
    return database_.transaction([&](db::Connection& c) {
      ImportSummary summary;
      auto now = common::now_micros();
      std::size_t done = 0;
      source([&](const ProductChange& change) {
        if (auto current = repo::find_active_by_name(c, *change.name)) {
          if (update_existing) {
            repo::update(c, current->id, columns_but_stock(change), now);
            ++summary.updated;
          } else {
            ++summary.unchanged;
          }
        } else {
          repo::insert(c, complete(change), now);
          ++summary.created;
        }
        if (progress) progress(++done);
      });
      return summary;
    });
  });
}

}  // namespace catalog
