#include "orders/shipping.hpp"

#include "catalog/service.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "orders/repo.hpp"
#include "orders/shipping_repo.hpp"

#include <boost/json/array.hpp>

#include <stdexcept>
#include <vector>

namespace orders {
namespace {

// Field limits (docs/contract.md, "After payment"). A URL's limit is the one browsers and mail
// clients handle everywhere; the others are far above any real carrier's or reason's length.
constexpr std::size_t kMaxCarrier = 100;
constexpr std::size_t kMaxTrackingNumber = 100;
constexpr std::size_t kMaxTrackingUrl = 2000;
constexpr std::size_t kMaxReason = 500;

// A string field of at most `limit` characters; `required` ones may not be blank.
std::string text_field(const boost::json::object& body, std::string_view name, std::size_t limit, bool required,
                       common::FieldErrors& errors) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required) errors.add(name, "This field is required.");
    return {};
  }
  if (!v->is_string()) {
    errors.add(name, "Not a valid string.");
    return {};
  }
  std::string text(v->get_string());
  if (common::has_null(text)) errors.add(name, common::kNullCharacters);
  if (required && text.empty()) errors.add(name, "This field may not be blank.");
  if (common::characters(text) > limit) {
    errors.add(name, "Ensure this field has no more than " + std::to_string(limit) + " characters.");
  }
  return text;
}

// Empty, or http:// or https:// and a host, with no spaces or control characters: a link that goes
// into the customer's email can never be javascript: or data:.
bool acceptable_url(std::string_view url) {
  if (url.empty()) return true;
  std::string lower;
  for (char ch : url.substr(0, 8)) lower += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  auto rest = lower.starts_with("https://") ? url.substr(8) : lower.starts_with("http://") ? url.substr(7) : "";
  if (rest.empty() || rest.front() == '/') return false;
  for (unsigned char ch : url) {
    if (ch <= 0x20 || ch == 0x7F) return false;
  }
  return true;
}

// One element of "items": {product_id, quantity[, restock]} into `units`; its problems into `errors`.
void units_from_json(const boost::json::value& value, bool with_restock, UnitsByProduct& units,
                     boost::json::object& errors) {
  auto add = [&](std::string_view field, std::string_view message) {
    auto* list = errors.if_contains(field);
    if (list == nullptr) list = &(errors[field] = boost::json::array{});
    list->as_array().emplace_back(message);
  };
  if (!value.is_object()) return add("non_field_errors", "Invalid data. Expected a dictionary.");
  const auto& item = value.get_object();
  const auto* id = item.if_contains("product_id");
  const auto* quantity = item.if_contains("quantity");
  const auto* restock = item.if_contains("restock");
  if (id == nullptr || !id->is_int64() || id->get_int64() < 1) add("product_id", "A valid product id is required.");
  if (quantity == nullptr || !quantity->is_int64() || quantity->get_int64() < 1 ||
      quantity->get_int64() > kMaxQuantity) {
    add("quantity", "A whole number from 1 to " + std::to_string(kMaxQuantity) + " is required.");
  }
  bool restocked = false;
  if (with_restock && restock != nullptr && !restock->is_null()) {
    if (!restock->is_bool()) add("restock", "Must be a valid boolean.");
    else restocked = restock->get_bool();
  }
  if (!errors.empty()) return;
  auto& line = units[id->get_int64()];
  line.quantity += quantity->get_int64();
  if (restocked) line.restock += quantity->get_int64();
  if (line.quantity > kMaxQuantity) add("quantity", "At most " + std::to_string(kMaxQuantity) + " of one product.");
}

// "items": a list of 1 to kMaxLines units, merged by product; nullopt (and an error) when it is not.
std::optional<UnitsByProduct> items_field(const boost::json::value& items, bool with_restock,
                                          common::FieldErrors& errors) {
  if (!items.is_array()) {
    errors.add("items", "Expected a list of items.");
    return std::nullopt;
  }
  const auto& list = items.get_array();
  if (list.empty() || list.size() > kMaxLines) {
    errors.add("items", "Give from 1 to " + std::to_string(kMaxLines) + " items.");
    return std::nullopt;
  }
  UnitsByProduct units;
  boost::json::array details;
  bool bad = false;
  for (const auto& element : list) {
    boost::json::object problems;
    units_from_json(element, with_restock, units, problems);
    bad = bad || !problems.empty();
    details.push_back(std::move(problems));
  }
  if (!bad) return units;
  throw common::Error("validation_error", "Invalid items", {{"items", std::move(details)}});
}

[[noreturn]] void not_found() { throw common::Error("not_found", "Not found."); }

// The units of each line, product by product (a product may have several lines: the earliest first).
struct LineUnits {
  std::int64_t line_id = 0;
  std::int64_t units = 0;
  std::int64_t restocked = 0;
};

struct ProductCounts {
  std::optional<std::string> product;  // none: the order does not have it
  std::int64_t ordered = 0, shipped = 0, returned = 0;
};

ProductCounts counts_of(const Order& order, std::int64_t product_id) {
  ProductCounts counts;
  for (const auto& i : order.items) {
    if (i.product_id != product_id) continue;
    counts.product = i.product;
    counts.ordered += i.quantity;
    counts.shipped += i.shipped;
    counts.returned += i.returned;
  }
  return counts;
}

// Spreads `wanted` units (of which `restock` go back on the shelf) over a product's lines, each
// taking at most `room(line)`.
template <class Room>
void spread(const Order& order, std::int64_t product_id, Units wanted, Room room, std::vector<LineUnits>& plan) {
  for (const auto& i : order.items) {
    if (i.product_id != product_id || wanted.quantity == 0) continue;
    auto units = std::min(room(i), wanted.quantity);
    if (units <= 0) continue;
    auto restocked = std::min(units, wanted.restock);
    plan.push_back({i.line_id, units, restocked});
    wanted.quantity -= units;
    wanted.restock -= restocked;
  }
}

[[noreturn]] void exceeds(std::string code, std::string message, boost::json::array problems) {
  throw common::Error(std::move(code), std::move(message), {{"items", std::move(problems)}});
}

// Everything not shipped yet, or the units asked for: 409 fulfilment_exceeds_order when any product
// has fewer unshipped units than asked (or none at all).
std::vector<LineUnits> plan_shipment(const Order& order, const std::optional<UnitsByProduct>& items) {
  UnitsByProduct wanted;
  if (items) wanted = *items;
  else {
    for (const auto& i : order.items) wanted[i.product_id].quantity += i.quantity - i.shipped;
    std::erase_if(wanted, [](const auto& entry) { return entry.second.quantity == 0; });
  }
  std::vector<LineUnits> plan;
  boost::json::array problems;
  for (const auto& [product_id, units] : wanted) {
    auto counts = counts_of(order, product_id);
    if (units.quantity > counts.ordered - counts.shipped) {
      problems.push_back({{"product_id", product_id},
                          {"product", counts.product ? boost::json::value(*counts.product) : nullptr},
                          {"ordered", counts.ordered},
                          {"shipped", counts.shipped},
                          {"requested", units.quantity}});
    }
    spread(order, product_id, units, [](const Item& i) { return i.quantity - i.shipped; }, plan);
  }
  if (!problems.empty()) {
    exceeds("fulfilment_exceeds_order", "Order " + std::to_string(order.id) + " has fewer units left to ship",
            std::move(problems));
  }
  if (plan.empty()) {
    exceeds("fulfilment_exceeds_order", "Everything in order " + std::to_string(order.id) + " has been shipped",
            boost::json::array{});
  }
  return plan;
}

// The units asked for, from what was shipped and not returned yet: 409 return_exceeds_shipped otherwise.
std::vector<LineUnits> plan_return(const Order& order, const UnitsByProduct& wanted) {
  std::vector<LineUnits> plan;
  boost::json::array problems;
  for (const auto& [product_id, units] : wanted) {
    auto counts = counts_of(order, product_id);
    if (units.quantity > counts.shipped - counts.returned) {
      problems.push_back({{"product_id", product_id},
                          {"product", counts.product ? boost::json::value(*counts.product) : nullptr},
                          {"shipped", counts.shipped},
                          {"returned", counts.returned},
                          {"requested", units.quantity}});
    }
    spread(order, product_id, units, [](const Item& i) { return i.shipped - i.returned; }, plan);
  }
  if (!problems.empty()) {
    exceeds("return_exceeds_shipped", "Order " + std::to_string(order.id) + " has fewer shipped units to return",
            std::move(problems));
  }
  return plan;
}

const Item& line_of(const Order& order, std::int64_t line_id) {
  for (const auto& i : order.items) {
    if (i.line_id == line_id) return i;
  }
  throw std::logic_error("order " + std::to_string(order.id) + " has no line " + std::to_string(line_id));
}

template <class Record>
const Record& record_of(const std::vector<Record>& records, std::int64_t id) {
  for (const auto& r : records) {
    if (r.id == id) return r;
  }
  throw std::logic_error("a record just written is missing: " + std::to_string(id));
}

}  // namespace

ShipRequest ship_request_from_json(const boost::json::object& body) {
  common::FieldErrors errors;
  ShipRequest request;
  if (const auto* items = body.if_contains("items"); items != nullptr && !items->is_null()) {
    request.items = items_field(*items, false, errors);
  }
  request.carrier = text_field(body, "carrier", kMaxCarrier, true, errors);
  request.tracking_number = text_field(body, "tracking_number", kMaxTrackingNumber, false, errors);
  request.tracking_url = text_field(body, "tracking_url", kMaxTrackingUrl, false, errors);
  if (!acceptable_url(request.tracking_url)) {
    errors.add("tracking_url", "Enter a valid http:// or https:// URL.");
  }
  errors.raise_if_any();
  return request;
}

ReturnRequest return_request_from_json(const boost::json::object& body) {
  common::FieldErrors errors;
  ReturnRequest request;
  const auto* items = body.if_contains("items");
  if (items == nullptr || items->is_null()) errors.add("items", "This field is required.");
  else if (auto units = items_field(*items, true, errors)) request.items = std::move(*units);
  if (const auto* refund = body.if_contains("refund"); refund != nullptr && !refund->is_null()) {
    std::string problem;
    request.refund = common::money_from_json(*refund, problem);
    if (!request.refund) errors.add("refund", problem);
  }
  request.reason = text_field(body, "reason", kMaxReason, true, errors);
  errors.raise_if_any();
  return request;
}

boost::json::object to_json(const Shipping::Returned& returned) {
  auto body = to_json(returned.record);
  body["refund"] = returned.refund ? boost::json::value(*returned.refund) : nullptr;
  return body;
}

Shipping::Shipping(db::Database& database, Service& orders, common::Metrics& metrics, ShippingHooks hooks)
    : database_(database),
      orders_(orders),
      hooks_(std::move(hooks)),
      fulfilments_(metrics.counter("orderd_fulfilments_total", "Shipments of paid orders.")),
      returns_(metrics.counter("orderd_returns_total", "Returns of shipped units.")) {}

// Locks the order (repo::lock_order) and loads it as it is under the lock: 404 when it does not exist,
// 409 order_not_paid unless its status is paid.
Order Shipping::locked_paid_order(db::Connection& c, std::int64_t order_id, std::string_view what) {
  auto status = repo::lock_order(c, order_id);
  if (!status) not_found();
  auto order = orders_.load(c, order_id);
  if (order.status != OrderStatus::paid) {
    throw common::Error("order_not_paid",
                        "Order " + std::to_string(order_id) + " is " + *status + " and cannot be " + std::string(what),
                        {{"status", *status}, {"payment_status", to_string(order.payment_status)}});
  }
  return order;
}

// After its counters moved: moves fulfilment_status to what they now say, and reloads the order as
// it now is (the body reads a not_fulfilled order's records not at all, so the reload follows the move).
void Shipping::move_status(db::Connection& c, Order& order) {
  auto before = order.fulfilment_status;
  order = orders_.load(c, order.id);
  std::int64_t ordered = 0, shipped = 0, delivered = 0, returned = 0;
  for (const auto& i : order.items) {
    ordered += i.quantity;
    shipped += i.shipped;
    delivered += i.delivered;
    returned += i.returned;
  }
  auto now = fulfilment_status(ordered, shipped, delivered, returned);
  if (now == before) return;
  // The order is locked: nobody else can have moved it since it was read.
  if (!repo::move_fulfilment(c, order.id, before, now)) throw std::logic_error("fulfilment_status moved under a lock");
  order = orders_.load(c, order.id);
}

Fulfilment Shipping::ship(std::int64_t order_id, const ShipRequest& request, std::int64_t staff_id,
                          const Remember& remember) {
  auto fulfilment = database_.transaction([&](db::Connection& c) {
    auto order = locked_paid_order(c, order_id, "shipped");
    auto plan = plan_shipment(order, request.items);
    auto id = repo::insert_fulfilment(c, {order_id, request.carrier, request.tracking_number, request.tracking_url,
                                          common::now_micros(), staff_id});
    for (const auto& line : plan) {
      // The guard is the last word on over-shipping; under the order's lock it always holds.
      if (!repo::ship_units(c, line.line_id, line.units)) {
        throw std::logic_error("order item " + std::to_string(line.line_id) + " would ship more than ordered");
      }
      repo::insert_fulfilment_item(c, id, line.line_id, line.units);
    }
    move_status(c, order);
    const auto& shipped = record_of(order.fulfilments, id);
    if (hooks_.shipped) hooks_.shipped(c, order, shipped);
    if (remember) remember(c, to_json(shipped));
    return shipped;
  });
  fulfilments_.add();
  return fulfilment;
}

Fulfilment Shipping::mark_delivered(std::int64_t order_id, std::int64_t fulfilment_id) {
  return database_.transaction([&](db::Connection& c) {
    if (!repo::lock_order(c, order_id)) not_found();
    auto lines = repo::fulfilment_lines(c, order_id, fulfilment_id);
    if (!lines) not_found();
    auto order = orders_.load(c, order_id);
    if (repo::mark_delivered(c, fulfilment_id, common::now_micros())) {
      for (const auto& line : *lines) {
        if (!repo::deliver_units(c, line.line_id, line.units)) {
          throw std::logic_error("order item " + std::to_string(line.line_id) + " would deliver more than shipped");
        }
      }
      move_status(c, order);
      if (hooks_.delivered) hooks_.delivered(c, order, record_of(order.fulfilments, fulfilment_id));
    }
    return record_of(order.fulfilments, fulfilment_id);
  });
}

// The refund a return asks for: the request's amount, or else `value` (the returned units' price);
// nothing for zero, or while no refund path is wired.
std::optional<SendRefund> Shipping::claim_refund(db::Connection& c, const RefundAsked& asked,
                                                 const std::optional<common::Money>& amount) {
  auto refund = asked;
  if (amount) refund.amount = *amount;
  if (refund.amount.minor() == 0 || !hooks_.claim_refund) return std::nullopt;
  return hooks_.claim_refund(c, refund);
}

Shipping::Returned Shipping::take_return(std::int64_t order_id, const ReturnRequest& request, std::int64_t staff_id,
                                         const Remember& remember) {
  std::optional<SendRefund> send;
  auto returned = database_.transaction([&](db::Connection& c) {
    send.reset();  // a retried transaction starts again
    auto order = locked_paid_order(c, order_id, "returned");
    auto plan = plan_return(order, request.items);
    auto id = repo::insert_return(c, order_id, request.reason, common::now_micros(), staff_id);
    std::map<std::int64_t, std::int64_t> restock;  // by product id: stock goes back in id order
    common::Money value;
    for (const auto& line : plan) {
      if (!repo::return_units(c, line.line_id, line.units)) {
        throw std::logic_error("order item " + std::to_string(line.line_id) + " would return more than shipped");
      }
      repo::insert_return_item(c, id, line.line_id, line.units, line.restocked);
      const auto& item = line_of(order, line.line_id);
      value += item.price.times(line.units);
      if (line.restocked > 0) restock[item.product_id] += line.restocked;
    }
    for (const auto& [product_id, units] : restock) catalog::return_stock(c, product_id, units);
    move_status(c, order);
    send = claim_refund(c, {order_id, value, request.reason, staff_id, id}, request.refund);
    if (send) order = orders_.load(c, order_id);  // with the refund just claimed
    Returned out{record_of(order.returns, id), std::nullopt};
    for (const auto& r : order.refunds) {
      if (r.return_id == id) out.refund = orders::to_json(r);
    }
    if (hooks_.returned) hooks_.returned(c, order, out.record);
    if (remember) remember(c, to_json(out));
    return out;
  });
  returns_.add();
  if (send) returned.refund = (*send)();
  return returned;
}

}  // namespace orders
