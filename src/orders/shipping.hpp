#pragma once
// What staff do with a paid order's goods: ship some or all of it (a fulfilment, with the carrier's
// tracking), mark a shipment delivered, and take shipped units back (a return: restocked units go
// back on the shelf, and the returned items' price is refunded through payments). Each is one
// transaction that first locks the order (repo::lock_order), moves the order_items counters with
// guarded statements and fulfilment_status along orders/status.hpp's table, so nothing is shipped,
// returned or restocked twice whatever runs at the same time, on any number of nodes.
//
// Orders does not know payments or notify (docs/architecture.md, "The map"): the shipped email and
// the refund are hooks app/app.cpp wires (ShippingHooks).

#include "common/metrics.hpp"
#include "common/money.hpp"
#include "db/database.hpp"
#include "orders/service.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace orders {

// Units of products, by product id (lines naming one product are added together when read).
struct Units {
  std::int64_t quantity = 0;
  std::int64_t restock = 0;  // returns: how many of them go back on the shelf
};
using UnitsByProduct = std::map<std::int64_t, Units>;

struct ShipRequest {
  std::optional<UnitsByProduct> items;  // none: everything not yet shipped
  std::string carrier;
  std::string tracking_number;
  std::string tracking_url;  // "" or an http(s) URL
};
// Reads POST /admin/orders/{id}/fulfilments/'s body; 400 validation_error with every field's problems.
ShipRequest ship_request_from_json(const boost::json::object& body);

struct ReturnRequest {
  UnitsByProduct items;
  std::optional<common::Money> refund;  // none: the returned items' price; zero: no refund
  std::string reason;
};
// Reads POST /admin/orders/{id}/returns/'s body; 400 validation_error with every field's problems.
ReturnRequest return_request_from_json(const boost::json::object& body);

// A refund a return asks for (payments::RefundRequest as orders sees it).
struct RefundAsked {
  std::int64_t order_id = 0;
  common::Money amount;
  std::string reason;
  std::int64_t staff_id = 0;
  std::int64_t return_id = 0;
};
// Sends a claimed refund once the return's transaction committed; returns the refund as it then is.
using SendRefund = std::function<boost::json::object()>;

struct ShippingHooks {
  // Inside the shipment's transaction, with the order as it now is: the order_shipped email.
  std::function<void(db::Connection&, const Order&, const Fulfilment&)> shipped;
  // Inside the transaction that first marks a fulfilment delivered, and inside a return's, with the
  // order as it now is: the order.delivered and order.returned webhooks.
  std::function<void(db::Connection&, const Order&, const Fulfilment&)> delivered;
  std::function<void(db::Connection&, const Order&, const Return&)> returned;
  // Inside the return's transaction: claims the refund (409s of its own roll the return back) and
  // returns what sends it. Empty: returns refund nothing.
  std::function<SendRefund(db::Connection&, const RefundAsked&)> claim_refund;
};

// Stores a response body inside the transaction that made it (an Idempotency-Key's answer).
using Remember = std::function<void(db::Connection&, const boost::json::object&)>;

class Shipping {
 public:
  Shipping(db::Database& database, Service& orders, common::Metrics& metrics, ShippingHooks hooks);

  // Ships units of a paid order: 404 not_found, 409 order_not_paid, 409 fulfilment_exceeds_order
  // (details.items: product_id, product, ordered, shipped, requested for each product short).
  Fulfilment ship(std::int64_t order_id, const ShipRequest& request, std::int64_t staff_id,
                  const Remember& remember = {});
  // Marks a fulfilment of the order delivered. Idempotent: a fulfilment delivered already is
  // answered as it is, and nothing moves again. 404 when the order has no such fulfilment.
  Fulfilment mark_delivered(std::int64_t order_id, std::int64_t fulfilment_id);

  struct Returned {
    Return record;
    std::optional<boost::json::object> refund;  // as it is after the gateway answered
  };
  // Takes shipped units back: 404, 409 order_not_paid, 409 return_exceeds_shipped (details.items:
  // product_id, product, shipped, returned, requested), and the refund's own 409s.
  Returned take_return(std::int64_t order_id, const ReturnRequest& request, std::int64_t staff_id,
                       const Remember& remember = {});

 private:
  Order locked_paid_order(db::Connection& c, std::int64_t order_id, std::string_view what);
  void move_status(db::Connection& c, Order& order);
  std::optional<SendRefund> claim_refund(db::Connection& c, const RefundAsked& asked,
                                         const std::optional<common::Money>& amount);

  db::Database& database_;
  Service& orders_;
  ShippingHooks hooks_;
  common::Counter& fulfilments_;
  common::Counter& returns_;
};

// The return as the API answers it: the record, and its refund (null when there is none).
boost::json::object to_json(const Shipping::Returned& returned);

}  // namespace orders
