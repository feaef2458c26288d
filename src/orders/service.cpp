#include "orders/service.hpp"

#include "catalog/service.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/text.hpp"
#include "orders/repo.hpp"

#include <boost/json/array.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace orders {
namespace {

const std::string kMaxQuantityText = std::to_string(kMaxQuantity);

[[noreturn]] void not_found() { throw common::Error("not_found", "Not found."); }

// The columns' CHECKs allow only the names of orders/status.hpp.
template <class State>
State state_of(std::optional<State> state, const repo::OrderRow& row, std::string_view column, const std::string& name) {
  if (!state) throw std::runtime_error("order " + std::to_string(row.id) + " has an unknown " + std::string(column) + " " + name);
  return *state;
}

template <class Rows>
std::vector<RecordItem> record_items(Rows& rows) {
  std::vector<RecordItem> out;
  for (auto& r : rows) {
    RecordItem item{r.product_id, std::move(r.product), r.quantity, 0};
    if constexpr (std::is_same_v<std::decay_t<decltype(r)>, repo::ReturnItemRow>) item.restocked = r.restocked;
    out.push_back(std::move(item));
  }
  return out;
}

// The fulfilments, refunds and returns of a row, as the order carries them.
void after_payment_from_row(Order& o, repo::OrderRow& row) {
  for (auto& f : row.fulfilments) {
    o.fulfilments.push_back({f.id, std::move(f.carrier), std::move(f.tracking_number), std::move(f.tracking_url),
                             f.shipped_at, f.delivered_at, record_items(f.items)});
  }
  for (auto& r : row.refunds) {
    o.refunds.push_back({r.id, r.order_id, common::Money::from_minor(r.amount), std::move(r.reason),
                         std::move(r.status), r.created_at, r.return_id, std::move(r.failure_code), r.updated_at});
  }
  for (auto& r : row.returns) o.returns.push_back({r.id, std::move(r.reason), r.created_at, record_items(r.items)});
}

Order from_row(repo::OrderRow&& row) {
  Order o{.id = row.id,
          .user_id = row.user_id,
          .customer = std::move(row.customer),
          .email = std::move(row.email),
          .status = state_of(order_status_from_string(row.status), row, "status", row.status),
          .total_amount = common::Money::from_minor(row.total_amount),
          .created_at = row.created_at,
          .expires_at = row.expires_at};
  o.payment_status = state_of(payment_status_from_string(row.payment_status), row, "payment_status", row.payment_status);
  o.fulfilment_status =
      state_of(fulfilment_status_from_string(row.fulfilment_status), row, "fulfilment_status", row.fulfilment_status);
  for (auto& i : row.items) {
    o.items.push_back({i.product_id, std::move(i.product), common::Money::from_minor(i.price), i.quantity, i.id,
                       i.shipped, i.delivered, i.returned});
  }
  after_payment_from_row(o, row);
  return o;
}

// Checks one element of "items"; records its problems into `errors` (empty when it is fine).
ItemRequest item_from_json(const boost::json::value& value, boost::json::object& errors) {
  ItemRequest item;
  auto add = [&](std::string_view field, std::string_view message) {
    auto* list = errors.if_contains(field);
    if (list == nullptr) list = &(errors[field] = boost::json::array{});
    list->as_array().emplace_back(message);
  };
  if (!value.is_object()) {
    add("non_field_errors", "Invalid data. Expected a dictionary.");
    return item;
  }
  const auto& object = value.get_object();
  const auto* name = object.if_contains("productName");
  const auto* id = object.if_contains("product_id");
  if (name && name->is_null()) name = nullptr;
  if (id && id->is_null()) id = nullptr;
  if (name && id) add("non_field_errors", "Give either productName or product_id, not both.");
  else if (!name && !id) add("productName", "This field is required (or give product_id).");
  else if (name) {
    if (!name->is_string()) add("productName", "Not a valid string.");
    else if (name->get_string().empty()) add("productName", "This field may not be blank.");
    else if (common::has_null(name->get_string())) add("productName", common::kNullCharacters);
    else item.product_name = std::string(name->get_string());
  } else if (std::int64_t product = 0;
             common::read_integer(*id, product) != common::IntegerRead::integer || product < 1) {
    add("product_id", "A valid product id is required.");
  } else {
    item.product_id = product;
  }
  const auto* quantity = object.if_contains("quantity");
  std::int64_t units = 0;
  auto read = quantity == nullptr || quantity->is_null() ? common::IntegerRead::not_integer
                                                         : common::read_integer(*quantity, units);
  if (quantity == nullptr || quantity->is_null()) add("quantity", "This field is required.");
  else if (read == common::IntegerRead::not_integer) add("quantity", "A valid integer is required.");
  else if (read == common::IntegerRead::too_large || units > kMaxQuantity) {
    add("quantity", "Ensure this value is less than or equal to " + kMaxQuantityText + ".");
  } else if (units < 1) {
    add("quantity", "Ensure this value is greater than or equal to 1.");
  } else {
    item.quantity = units;
  }
  return item;
}

[[noreturn]] void invalid_items(boost::json::value details_items, std::string message) {
  throw common::Error("validation_error", std::move(message), {{"items", std::move(details_items)}});
}

using Lines = std::map<std::int64_t, Item>;  // by product id: stock is taken in id order

// A name is echoed up to the longest a product can have (200 characters, 800 bytes at most), so a
// megabyte of name does not come back twice in the answer.
std::string echoed_name(const std::string& name) {
  constexpr std::size_t kLongestName = 800;
  if (name.size() <= kLongestName) return name;
  return common::valid_utf8(name, kLongestName) + "\u2026";
}

[[noreturn]] void unknown_product(const ItemRequest& r) {
  auto name = r.product_name ? echoed_name(*r.product_name) : std::string();
  auto label = r.product_name ? "'" + name + "'" : "with id " + std::to_string(*r.product_id);
  boost::json::object details{{"product", r.product_name ? boost::json::value(name) : nullptr}};
  if (r.product_id) details["product_id"] = *r.product_id;
  throw common::Error("unknown_product", "Product " + label + " does not exist", std::move(details));
}

[[noreturn]] void too_many(const std::string& product) {
  throw common::Error("validation_error", "At most " + kMaxQuantityText + " of one product per order",
                      {{"items", boost::json::array{"Ensure the quantity of '" + product + "' is at most " +
                                                    kMaxQuantityText + " in total."}}});
}

// Asks catalog for every requested product (by name or id, on sale), merging lines that name the
// same one.
Lines resolve_lines(db::Connection& c, const std::vector<ItemRequest>& requested) {
  Lines lines;
  for (const auto& r : requested) {
    auto product = r.product_id ? catalog::orderable(c, *r.product_id) : catalog::orderable(c, *r.product_name);
    if (!product) unknown_product(r);
    auto [line, fresh] = lines.try_emplace(product->id, Item{product->id, product->name, product->price, 0});
    line->second.quantity += r.quantity;
    if (line->second.quantity > kMaxQuantity) too_many(product->name);
  }
  return lines;
}

[[noreturn]] void insufficient_stock(db::Connection& c, const Item& line) {
  auto now = catalog::orderable(c, line.product_id);
  auto available = now ? now->stock : 0;
  throw common::Error("insufficient_stock", "Insufficient stock for product '" + line.product + "'",
                      {{"product", line.product},
                       {"product_id", line.product_id},
                       {"requested", line.quantity},
                       {"available", available}});
}

// Takes every line's stock, in product-id order (no lock-order deadlocks on PostgreSQL); returns the
// order's total. A short line throws, and the transaction takes nothing.
common::Money take_stock(db::Connection& c, const Lines& lines, const catalog::StockWatch& watch) {
  common::Money total;
  for (const auto& [id, line] : lines) {
    if (!catalog::take_stock(c, id, line.quantity, watch)) insufficient_stock(c, line);
    total += line.total();
  }
  return total;
}

// An order the gateway can charge: more than nothing, and no more than make_payment takes. Checked
// once the lines are priced, inside the placement's transaction (a throw takes nothing).
void check_payable(common::Money total) {
  if (total.minor() <= 0) {
    invalid_items(boost::json::array{"The order's total is 0.00: there is nothing to pay."},
                  "An order's total must be more than 0.00");
  }
  if (total.minor() > common::Money::kMaxMinor) {
    auto largest = common::Money::from_minor(common::Money::kMaxMinor).to_string();
    invalid_items(boost::json::array{"Ensure the order's total is no more than " + largest + "; it is " +
                                     total.to_string() + "."},
                  "An order's total must be at most " + largest);
  }
}

// Writes the order and its lines, and returns it as written, built here rather than read back (this
// runs on SQLite's single writer thread, where every statement counts): items in product-id order, as
// they are read.
Order write_order(db::Connection& c, std::int64_t user_id, Lines lines, common::Money total,
                  std::chrono::microseconds reservation_ttl) {
  auto now = common::now_micros();
  auto expires = now + reservation_ttl.count();
  auto order_id = repo::insert_order(c, user_id, total.minor(), now, expires);
  auto customer = repo::customer(c, user_id);
  Order order{.id = order_id,
              .user_id = user_id,
              .customer = std::move(customer.username),
              .email = std::move(customer.email),
              .status = kInitialStatus,
              .total_amount = total,
              .created_at = now,
              .expires_at = expires};
  for (auto& [id, line] : lines) {
    repo::insert_item(c, order_id, {order_id, id, line.product, line.price.minor(), line.quantity});
    order.items.push_back(std::move(line));
  }
  return order;
}

// The statement-per-step placement, which SQLite always runs (every statement is a call into this
// process) and PostgreSQL runs when the one-statement placement took nothing: it finds the line to
// blame and throws the contract's error for it.
Order place_step_by_step(db::Connection& c, std::int64_t user_id, const std::vector<ItemRequest>& requested,
                         std::chrono::microseconds reservation_ttl, const catalog::StockWatch& watch) {
  auto lines = resolve_lines(c, requested);
  auto total = take_stock(c, lines, watch);
  return write_order(c, user_id, std::move(lines), total, reservation_ttl);
}

// The quantity of each product, in product-id order, for the one-statement placement; nullopt when
// a line names its product by name or a product's lines add up past kMaxQuantity (the step-by-step
// path resolves names and words that error).
std::optional<std::map<std::int64_t, std::int64_t>> quantities_by_id(const std::vector<ItemRequest>& requested) {
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& r : requested) {
    if (!r.product_id) return std::nullopt;
    auto& quantity = out[*r.product_id];
    quantity += r.quantity;
    if (quantity > kMaxQuantity) return std::nullopt;
  }
  return out;
}

// PostgreSQL: the order placed in one round trip instead of ten (repo::place_at_once; why, with the
// figures: docs/architecture.md, "PostgreSQL: round trips and kept pages"). The same order as
// place_step_by_step writes: lines in product-id order, taken by the same guarded updates. nullopt
// when it took nothing (a line unknown, archived or short, or not by id): the caller then runs
// place_step_by_step in the same transaction.
std::optional<Order> place_at_once(db::Connection& c, std::int64_t user_id, const std::vector<ItemRequest>& requested,
                                   std::chrono::microseconds reservation_ttl, const catalog::StockWatch& watch) {
  if (c.dialect() != db::Dialect::postgres) return std::nullopt;
  auto wanted = quantities_by_id(requested);
  if (!wanted) return std::nullopt;
  std::vector<std::int64_t> ids, quantities;
  for (auto [id, quantity] : *wanted) {
    ids.push_back(id);
    quantities.push_back(quantity);
  }
  auto now = common::now_micros();
  auto expires = now + reservation_ttl.count();
  auto lines = repo::place_at_once(c, user_id, ids, quantities, now, expires);
  if (lines.empty()) return std::nullopt;
  Order order{.id = lines[0].order_id,
              .user_id = user_id,
              .customer = lines[0].customer,
              .email = lines[0].email,
              .status = kInitialStatus,
              .total_amount = common::Money(),
              .created_at = now,
              .expires_at = expires};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    watch.changed(c, lines[i].product_id, lines[i].stock + quantities[i], lines[i].stock);
    Item item{lines[i].product_id, std::move(lines[i].product), common::Money::from_minor(lines[i].price), quantities[i]};
    order.total_amount += item.total();
    order.items.push_back(std::move(item));
  }
  return order;
}

}  // namespace

std::vector<ItemRequest> items_from_json(const boost::json::object& body) {
  const auto* items = body.if_contains("items");
  if (items == nullptr || items->is_null() || (items->is_array() && items->get_array().empty())) {
    throw common::Error("empty_items", "An order needs at least one item", {{"items", boost::json::array{"This list may not be empty."}}});
  }
  if (!items->is_array()) invalid_items(boost::json::array{"Expected a list of items."}, "items must be a list");
  const auto& array = items->get_array();
  if (array.size() > kMaxLines) {
    invalid_items(boost::json::array{"Ensure this list has no more than " + std::to_string(kMaxLines) + " items."},
                  "Too many items in one order");
  }
  std::vector<ItemRequest> out;
  boost::json::array details;
  bool bad = false;
  for (const auto& element : array) {
    boost::json::object errors;
    out.push_back(item_from_json(element, errors));
    bad = bad || !errors.empty();
    details.push_back(std::move(errors));
  }
  if (bad) invalid_items(std::move(details), "Invalid items");
  return out;
}

boost::json::array items_json(const std::vector<Item>& items, ItemIds ids, boost::json::storage_ptr sp) {
  boost::json::array out(sp);
  out.reserve(items.size());
  for (const auto& i : items) {
    boost::json::object line(5, sp);
    if (ids == ItemIds::with) line["product_id"] = i.product_id;
    for_each_item_field(i, [&](std::string_view name, const auto& value) {
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, common::Money>) line[name] = value.to_string();
      else line[name] = value;
    });
    out.push_back(std::move(line));
  }
  return out;
}

boost::json::object to_json(const Fulfilment& f, boost::json::storage_ptr sp) {
  boost::json::array items(sp);
  for (const auto& i : f.items) items.push_back({{"product_id", i.product_id}, {"product", i.product}, {"quantity", i.quantity}});
  return boost::json::object(
      {{"id", f.id},
       {"carrier", f.carrier},
       {"tracking_number", f.tracking_number},
       {"tracking_url", f.tracking_url},
       {"items", std::move(items)},
       {"shipped_at", common::format_rfc3339(f.shipped_at)},
       {"delivered_at", f.delivered_at ? boost::json::value(common::format_rfc3339(*f.delivered_at)) : nullptr}},
      sp);
}

// An order body's refunds, and the refund route's answer (payments::Refund is this type).
boost::json::object to_json(const Refund& r, boost::json::storage_ptr sp) {
  return boost::json::object({{"id", r.id},
                              {"order_id", r.order_id},
                              {"amount", r.amount.to_string()},
                              {"reason", r.reason},
                              {"status", r.status},
                              {"failure_code", r.failure_code ? boost::json::value(*r.failure_code) : nullptr},
                              {"return_id", r.return_id ? boost::json::value(*r.return_id) : nullptr},
                              {"created_at", common::format_rfc3339(r.created_at)},
                              {"updated_at", common::format_rfc3339(r.updated_at)}},
                             sp);
}

// `restock` is whether the units went back on the shelf; `restocked` how many did, for a return that
// named one product twice with both answers.
boost::json::object to_json(const Return& r, boost::json::storage_ptr sp) {
  boost::json::array items(sp);
  for (const auto& i : r.items) {
    items.push_back({{"product_id", i.product_id},
                     {"product", i.product},
                     {"quantity", i.quantity},
                     {"restock", i.restocked > 0},
                     {"restocked", i.restocked}});
  }
  return boost::json::object(
      {{"id", r.id}, {"reason", r.reason}, {"items", std::move(items)}, {"created_at", common::format_rfc3339(r.created_at)}},
      sp);
}

namespace {

template <class Records>
boost::json::array json_list(const Records& records, const boost::json::storage_ptr& sp) {
  boost::json::array out(sp);
  for (const auto& r : records) out.push_back(to_json(r, sp));
  return out;
}

}  // namespace

// The old API's fields first and unchanged; after them what #18 added.
boost::json::object to_json(const Order& o, boost::json::storage_ptr sp) {
  return boost::json::object({{"id", o.id},
                              {"customer", o.customer},
                              {"total_amount", o.total_amount.to_string()},
                              {"paid", o.paid()},
                              {"status", to_string(o.status)},
                              {"created_at", common::format_rfc3339(o.created_at)},
                              {"expires_at", common::format_rfc3339(o.expires_at)},
                              {"items", items_json(o.items, ItemIds::with, sp)},
                              {"payment_status", to_string(o.payment_status)},
                              {"fulfilment_status", to_string(o.fulfilment_status)},
                              {"fulfilments", json_list(o.fulfilments, sp)},
                              {"refunds", json_list(o.refunds, sp)},
                              {"returns", json_list(o.returns, sp)}},
                             sp);
}

Service::Service(db::Database& database, common::Metrics& metrics, Settings settings)
    : database_(database),
      settings_(settings),
      placed_(metrics.counter("orderd_orders_placed_total", "Orders placed.")),
      rejected_unknown_(metrics.counter("orderd_orders_rejected_total", "Orders refused, by reason.",
                                        R"(reason="unknown_product")")),
      rejected_stock_(metrics.counter("orderd_orders_rejected_total", "Orders refused, by reason.",
                                      R"(reason="insufficient_stock")")),
      cancelled_(metrics.counter("orderd_orders_cancelled_total", "Orders cancelled by their customer.")),
      cancelled_by_staff_(metrics.counter("orderd_orders_cancelled_by_staff_total", "Orders cancelled by staff.")),
      expired_(metrics.counter("orderd_orders_expired_total", "Unpaid orders whose reservation ran out.")) {}

Order Service::place(std::int64_t user_id, const std::vector<ItemRequest>& requested, const BeforeCommit& before_commit) {
  auto order = database_.transaction([&](db::Connection& c) { return place_in(c, user_id, requested, before_commit); });
  placed();
  return order;
}

void Service::placed() { placed_.add(); }

Order Service::place_in(db::Connection& c, std::int64_t user_id, const std::vector<ItemRequest>& requested,
                        const BeforeCommit& before_commit) {
  if (settings_.may_order) settings_.may_order(c, user_id);
  try {
    static const catalog::StockWatch kNobody;
    const auto& watch = settings_.stock_watch ? *settings_.stock_watch : kNobody;
    auto placed = place_at_once(c, user_id, requested, settings_.reservation_ttl, watch);
    auto order = placed ? std::move(*placed) : place_step_by_step(c, user_id, requested, settings_.reservation_ttl, watch);
    check_payable(order.total_amount);
    if (on_placed_) on_placed_(c, order);
    if (before_commit) before_commit(c, order);
    return order;
  } catch (const common::Error& e) {
    if (e.code() == "unknown_product") rejected_unknown_.add();
    if (e.code() == "insufficient_stock") rejected_stock_.add();
    throw;
  }
}

Order Service::load(db::Connection& c, std::int64_t order_id) {
  auto row = repo::find(c, order_id);
  if (!row) not_found();
  return from_row(std::move(*row));
}

Order Service::get_for_customer(std::int64_t order_id, std::int64_t user_id) {
  auto order = get_for_staff(order_id);
  if (order.user_id != user_id) not_found();
  return order;
}

Order Service::get_for_staff(std::int64_t order_id) {
  return database_.read([&](db::Connection& c) { return load(c, order_id); });
}

OrderPage Service::list(std::optional<std::int64_t> user_id, const std::optional<std::string>& status,
                        std::int64_t limit, const std::function<std::int64_t(std::int64_t)>& page_offset,
                        const std::optional<std::string>& search) {
  if (status && !order_status_from_string(*status)) {
    auto choices = "Select a valid choice: " + std::string(order_status_choices()) + ".";
    throw common::Error("validation_error", "Unknown status", {{"status", boost::json::array{choices}}});
  }
  return database_.read([&](db::Connection& c) {
    OrderPage page;
    page.count = repo::count(c, user_id, status, search);
    auto offset = page_offset(page.count);
    for (auto& row : repo::list(c, user_id, status, limit, offset, search)) {
      page.orders.push_back(from_row(std::move(row)));
    }
    return page;
  });
}

Order Service::cancel(std::int64_t order_id, std::int64_t user_id) {
  auto order = cancel_as(order_id, user_id);
  cancelled_.add();
  return order;
}

Order Service::cancel_by_staff(std::int64_t order_id) {
  auto order = cancel_as(order_id, std::nullopt);
  cancelled_by_staff_.add();
  return order;
}

Service::DaySummary Service::summary_since(std::int64_t since) {
  auto s = database_.read([&](db::Connection& c) { return repo::day_summary(c, since); });
  return {s.placed, s.paid, common::Money::from_minor(s.revenue)};
}

// The status guard in leave_pending makes a cancel happen once, whoever asks: a second cancel, an
// expiry or a payment in flight finds the order no longer pending and returns no stock.
Order Service::cancel_as(std::int64_t order_id, std::optional<std::int64_t> owner) {
  enum class Outcome { cancelled, not_pending };
  Order order;
  auto outcome = database_.transaction([&](db::Connection& c) {
    order = load(c, order_id);
    if (owner && order.user_id != *owner) not_found();
    if (!repo::leave_pending(c, order_id, OrderStatus::cancelled, common::now_micros())) return Outcome::not_pending;
    for (const auto& item : order.items) catalog::return_stock(c, item.product_id, item.quantity);
    order.status = OrderStatus::cancelled;
    order.payment_status = PaymentStatus::none;
    if (on_ended_) on_ended_(c, order, owner ? EndedBy::customer : EndedBy::staff);
    return Outcome::cancelled;
  });
  if (outcome == Outcome::not_pending) {
    auto status = std::string(to_string(order.status));
    auto why = order.status == OrderStatus::pending_payment ? std::string("being paid right now") : status;
    throw common::Error("order_not_payable", "Order " + std::to_string(order_id) + " is " + why + " and cannot be cancelled",
                        {{"status", status}});
  }
  return order;
}

// Guarded like every status move: a concurrent cancel, or a shipment committed first, leaves it alone.
std::optional<Order> Service::cancel_paid_in(db::Connection& c, std::int64_t order_id) {
  auto order = load(c, order_id);
  if (order.status != OrderStatus::paid) return std::nullopt;
  if (!repo::cancel_paid(c, order_id, common::now_micros())) {
    if (auto shipped = repo::shipped_units(c, order_id); shipped > 0) {
      throw common::Error("order_has_shipments",
                          "Order " + std::to_string(order_id) + " has shipped units; take them back with a return",
                          {{"shipped", shipped}});
    }
    return std::nullopt;  // no longer paid: someone else cancelled it first
  }
  for (const auto& item : order.items) catalog::return_stock(c, item.product_id, item.quantity);
  order.status = OrderStatus::cancelled;
  cancelled_by_staff_.add();
  return order;
}

bool Service::begin_payment(db::Connection& c, std::int64_t order_id) {
  return repo::begin_payment(c, order_id, common::now_micros());
}

std::optional<Order> Service::end_payment(db::Connection& c, std::int64_t order_id, bool paid) {
  auto row = repo::end_payment(c, order_id, paid, common::now_micros());
  if (!row) return std::nullopt;
  return from_row(std::move(*row));
}

int Service::expire_overdue(std::int64_t now, int batch) {
  auto ids = database_.read([&](db::Connection& c) { return repo::overdue(c, now, batch); });
  int expired = 0;
  for (auto id : ids) {
    // One transaction per order, guarded by status and expiry: if the customer paid or cancelled in
    // the meantime, or another node expired it first, nothing happens and no stock moves twice. On
    // PostgreSQL the claim also skips an order another transaction holds right now (SKIP LOCKED).
    bool done = database_.transaction([&](db::Connection& c) {
      if (!repo::claim_overdue(c, id, now)) return false;
      if (!repo::leave_pending(c, id, OrderStatus::expired, common::now_micros(), now)) return false;
      auto order = load(c, id);
      for (const auto& item : order.items) catalog::return_stock(c, item.product_id, item.quantity);
      if (on_ended_) on_ended_(c, order, EndedBy::sweeper);
      return true;
    });
    if (done) {
      ++expired;
      expired_.add();
    }
  }
  if (expired > 0) spdlog::info("released the stock of {} expired orders", expired);
  return expired;
}

Service::Sales Service::sales_between(std::int64_t start, std::int64_t stop, std::int64_t top) {
  return database_.read([&](db::Connection& c) {
    return Sales{repo::sales_slots(c, start, stop), repo::top_products(c, start, stop, top)};
  });
}

std::vector<repo::ExportLine> Service::export_lines(const repo::ExportFilter& filter, std::int64_t after_id,
                                                   std::int64_t orders) {
  if (filter.status && !order_status_from_string(*filter.status)) {
    auto choices = "Select a valid choice: " + std::string(order_status_choices()) + ".";
    throw common::Error("validation_error", "Unknown status", {{"status", boost::json::array{choices}}});
  }
  return database_.read([&](db::Connection& c) { return repo::export_lines(c, filter, after_id, orders); });
}

}  // namespace orders
