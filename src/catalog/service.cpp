#include "catalog/service.hpp"

#include "common/clock.hpp"

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

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

repo::ProductFields merged(const repo::ProductRow& current, const ProductChange& change) {
  return {change.name.value_or(current.name), change.description.value_or(current.description),
          change.price ? change.price->minor() : current.price, change.stock.value_or(current.stock)};
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

}  // namespace

ProductChange product_change_from_json(const boost::json::object& body, bool partial, common::FieldErrors& errors) {
  ProductChange change;
  auto field = [&](std::string_view name) -> const boost::json::value* {
    const auto* v = body.if_contains(name);
    if (v == nullptr && !partial && name != "description") errors.add(name, "This field is required.");
    if (v != nullptr && v->is_null()) {
      errors.add(name, "This field may not be null.");
      return nullptr;
    }
    return v;
  };
  if (const auto* v = field("name")) {
    if (!v->is_string()) errors.add("name", "Not a valid string.");
    else if (auto name = trimmed(v->get_string()); name.empty()) errors.add("name", "This field may not be blank.");
    else if (code_points(name) > kMaxNameLength) errors.add("name", "Ensure this field has no more than 200 characters.");
    else change.name = std::string(name);
  }
  if (const auto* v = field("description")) {
    if (!v->is_string()) errors.add("description", "Not a valid string.");
    else if (code_points(v->get_string()) > kMaxDescriptionLength) {
      errors.add("description", "Ensure this field has no more than 10000 characters.");
    } else change.description = std::string(v->get_string());
  }
  if (const auto* v = field("price")) {
    std::string message;
    if (auto price = common::money_from_json(*v, message)) change.price = price;
    else errors.add("price", message);
  }
  if (const auto* v = field("stock")) {
    if (!v->is_int64()) errors.add("stock", v->is_uint64() ? "Ensure this value is less than or equal to 1000000000."
                                                            : "A valid integer is required.");
    else if (v->get_int64() < 0) errors.add("stock", "Ensure this value is greater than or equal to 0.");
    else if (v->get_int64() > kMaxStock) errors.add("stock", "Ensure this value is less than or equal to 1000000000.");
    else change.stock = v->get_int64();
  }
  return change;
}

boost::json::object to_json(const Product& p) {
  return {{"id", p.id}, {"name", p.name}, {"description", p.description}, {"price", p.price.to_string()},
          {"stock", p.stock}};
}

ProductPage Service::list(const std::optional<std::string>& search, std::int64_t limit,
                          const std::function<std::int64_t(std::int64_t)>& page_offset) {
  return database_.read([&](db::Connection& c) {
    ProductPage page;
    page.count = repo::count_active(c, search);
    auto offset = page_offset(page.count);
    for (const auto& row : repo::list_active(c, search, limit, offset)) page.products.push_back(from_row(row));
    return page;
  });
}

ProductPage Service::low_stock(std::int64_t below, std::int64_t limit) {
  return database_.read([&](db::Connection& c) {
    ProductPage page;
    page.count = repo::count_low_stock(c, below);
    for (const auto& row : repo::list_low_stock(c, below, limit)) page.products.push_back(from_row(row));
    return page;
  });
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

Product Service::update(std::int64_t id, const ProductChange& change) {
  auto row = unique_name([&] {
    return database_.transaction([&](db::Connection& c) -> std::optional<repo::ProductRow> {
      auto current = repo::find_active(c, id);
      if (!current) return std::nullopt;
      auto fields = merged(*current, change);
      repo::update(c, id, fields, common::now_micros());
      return repo::ProductRow{id, fields.name, fields.description, fields.price, fields.stock};
    });
  });
  if (!row) not_found();
  return from_row(*row);
}

void Service::remove(std::int64_t id) {
  bool found = database_.transaction([&](db::Connection& c) { return repo::archive(c, id, common::now_micros()); });
  if (!found) not_found();
}

ImportSummary Service::import(const std::vector<ProductChange>& products, bool update_existing,
                              const std::function<void(std::size_t)>& progress) {
  return unique_name([&] {
    return database_.transaction([&](db::Connection& c) {
      ImportSummary summary;
      auto now = common::now_micros();
      std::size_t done = 0;
      for (const auto& change : products) {
        if (auto current = repo::find_active_by_name(c, *change.name)) {
          if (update_existing) {
            repo::update(c, current->id, merged(*current, change), now);
            ++summary.updated;
          } else {
            ++summary.unchanged;
          }
        } else {
          repo::insert(c, complete(change), now);
          ++summary.created;
        }
        if (progress) progress(++done);
      }
      return summary;
    });
  });
}

}  // namespace catalog
