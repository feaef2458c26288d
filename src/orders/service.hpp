#pragma once
// Orders: placement that takes stock all or nothing, reservations that expire, cancellation, and the
// queries behind the order routes. Knows nothing of HTTP; throws common::Error with the contract's codes.

#include "catalog/low_stock.hpp"
#include "common/metrics.hpp"
#include "common/money.hpp"
#include "db/database.hpp"
#include "orders/report_repo.hpp"
#include "orders/status.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace orders {

// At most this many of one product in one order (lines naming the same product count together).
// The database holds it too: the CHECK on order_items.quantity in migration 003_orders.sql (both
// dialects; an applied migration, so a change here needs a new migration as well), and the API
// documents it (docs/contract.md, the `maximum` of ItemRequest.quantity in docs/openapi.yaml). Every
// message that states the limit is built from this constant; tests/unit/order_status_test.cpp checks
// that the CHECK agrees.
constexpr std::int64_t kMaxQuantity = 10'000;
constexpr std::size_t kMaxLines = 100;  // lines in one order

// One requested line: a product by name or by id, and how many.
struct ItemRequest {
  std::optional<std::string> product_name;
  std::optional<std::int64_t> product_id;
  std::int64_t quantity = 0;
};

// Reads the place_order body {"items": [{"productName" | "product_id", "quantity"}, ...]}: 400
// empty_items for a missing or empty list, validation_error with DRF-style per-item details otherwise.
std::vector<ItemRequest> items_from_json(const boost::json::object& body);

struct Item {
  std::int64_t product_id = 0;
  std::string product;
  common::Money price;
  std::int64_t quantity = 0;
  // The line's id and its units shipped, delivered and returned so far (orders/shipping.hpp).
  std::int64_t line_id = 0;
  std::int64_t shipped = 0;
  std::int64_t delivered = 0;
  std::int64_t returned = 0;
  common::Money total() const { return price.times(quantity); }
};

// What happened to a paid order, as its body shows it (docs/contract.md, "After payment"). Items
// name products: the lines of one product are added together.
struct RecordItem {
  std::int64_t product_id = 0;
  std::string product;
  std::int64_t quantity = 0;
  std::int64_t restocked = 0;  // returns only: how many went back on the shelf
};
struct Fulfilment {
  std::int64_t id = 0;
  std::string carrier;
  std::string tracking_number;
  std::string tracking_url;
  std::int64_t shipped_at = 0;
  std::optional<std::int64_t> delivered_at;
  std::vector<RecordItem> items;
};
// Written by payments (payments/refunds.hpp); its JSON is the same as payments::to_json's.
struct Refund {
  std::int64_t id = 0;
  std::int64_t order_id = 0;
  common::Money amount;
  std::string reason;
  std::string status;  // processing, succeeded, failed
  std::int64_t created_at = 0;
  std::optional<std::int64_t> return_id;
  std::optional<std::string> failure_code;
  std::int64_t updated_at = 0;
};
struct Return {
  std::int64_t id = 0;
  std::string reason;
  std::int64_t created_at = 0;
  std::vector<RecordItem> items;
};
// Each JSON builder takes the memory it is to use (`sp`, the default heap when none is given): a webhook
// event builds its order in a stack arena and throws it away whole (webhooks::Service::publish).
boost::json::object to_json(const Fulfilment& fulfilment, boost::json::storage_ptr sp = {});
boost::json::object to_json(const Refund& refund, boost::json::storage_ptr sp = {});
boost::json::object to_json(const Return& returned, boost::json::storage_ptr sp = {});

struct Order {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string customer;  // username
  std::string email;
  OrderStatus status = kInitialStatus;  // its life: orders/status.hpp
  common::Money total_amount;
  std::int64_t created_at = 0;  // microseconds since the epoch
  std::int64_t expires_at = 0;
  std::vector<Item> items = {};
  PaymentStatus payment_status = PaymentStatus::awaiting;
  FulfilmentStatus fulfilment_status = FulfilmentStatus::not_fulfilled;
  std::vector<Fulfilment> fulfilments = {};
  std::vector<Refund> refunds = {};
  std::vector<Return> returns = {};
  bool paid() const { return status == OrderStatus::paid; }
};

// The order as the API writes it (GET /store/orders/{id}/ and every body that carries an order).
boost::json::object to_json(const Order& order, boost::json::storage_ptr sp = {});

// The order's lines as every body and email writes them: product, price, quantity, totalprice, in
// that order (an order body puts product_id first). The one place these names and values are spelled:
// to_json, the confirmation email's context (app/app.cpp) and make_payment's body (payments/routes.cpp,
// which writes money as JSON numbers) all go through it. `field(name, value)` is called with a
// std::string, a common::Money or a std::int64_t.
template <class Field>
void for_each_item_field(const Item& item, Field&& field) {
  field("product", item.product);
  field("price", item.price);
  field("quantity", item.quantity);
  field("totalprice", item.total());
}
enum class ItemIds { with, without };
// The lines as JSON, money as strings ("130.00"); `ids`: whether each line starts with its product_id.
boost::json::array items_json(const std::vector<Item>& items, ItemIds ids, boost::json::storage_ptr sp = {});

// Runs inside the transaction that writes an order (its placement, or the settle of its payment), with
// the order as written: whatever must commit with it, such as the answer an Idempotency-Key replays or
// the confirmation email. Orders and payments both take one.
using BeforeCommit = std::function<void(db::Connection&, const Order&)>;

// Runs inside the transaction that ends an unpaid order (a cancel or an expiry), with the order as it
// now is: the app queues the customer's email there, so it exists exactly when the change does.
enum class EndedBy { customer, staff, sweeper };
using OnEnded = std::function<void(db::Connection&, const Order&, EndedBy)>;

struct OrderPage {
  std::int64_t count = 0;
  std::vector<Order> orders;
};

class Service {
 public:
  // Asked in the placement's transaction before anything is taken; throws to refuse the customer (the
  // app sets auth's require_verified_email here when require_verified_email is on).
  using MayOrder = std::function<void(db::Connection& c, std::int64_t user_id)>;
  struct Settings {
    std::chrono::microseconds reservation_ttl = std::chrono::minutes(15);
    MayOrder may_order;  // empty: anyone signed in may order
    // Told of each take that crosses below the low-stock threshold (catalog/low_stock.hpp); null: nobody.
    const catalog::StockWatch* stock_watch = nullptr;
  };
  Service(db::Database& database, common::Metrics& metrics, Settings settings);

  Order place(std::int64_t user_id, const std::vector<ItemRequest>& items, const BeforeCommit& before_commit = {});
  // The same in a write transaction the caller runs (a route's write step); call placed() once it
  // is committed.
  Order place_in(db::Connection& c, std::int64_t user_id, const std::vector<ItemRequest>& items,
                 const BeforeCommit& before_commit = {});
  void placed();  // counts a committed placement
  // The order when `user_id` owns it; 404 otherwise, never revealing that it exists.
  Order get_for_customer(std::int64_t order_id, std::int64_t user_id);
  // Any order (staff); 404 only when it does not exist.
  Order get_for_staff(std::int64_t order_id);
  // `search` (staff, everyone's orders): the customer's username or email contains it. `status`: one of
  // orders/status.hpp's names (400 validation_error otherwise).
  OrderPage list(std::optional<std::int64_t> user_id, const std::optional<std::string>& status, std::int64_t limit,
                 const std::function<std::int64_t(std::int64_t)>& page_offset,
                 const std::optional<std::string>& search = std::nullopt);
  // Cancels an unpaid order of its owner and returns its stock; 409 order_not_payable otherwise.
  Order cancel(std::int64_t order_id, std::int64_t user_id);
  // The same for staff, whoever owns the order (404 only when it does not exist).
  Order cancel_by_staff(std::int64_t order_id);
  // Staff cancel of a paid order, in the caller's write transaction (payments::Refunds::cancel_paid,
  // which refunds it in the same one): paid -> cancelled and all its stock back. Empty when the order
  // is not paid; 409 order_has_shipments when a unit of it was shipped.
  std::optional<Order> cancel_paid_in(db::Connection& c, std::int64_t order_id);

  struct DaySummary {
    std::int64_t placed = 0;
    std::int64_t paid = 0;
    common::Money revenue;
  };
  // Orders placed, and orders paid with their total, since `since` (microseconds since the epoch).
  DaySummary summary_since(std::int64_t since);
  // Staff's CSV export (issue #22), a page at a time: the lines of up to `orders` orders after the
  // order `after_id` that match `filter` (status checked: validation_error), in id order.
  std::vector<repo::ExportLine> export_lines(const repo::ExportFilter& filter, std::int64_t after_id,
                                             std::int64_t orders);
  // The dashboard's sales over [start, stop) (issue #22): the figures by 15-minute slot and the
  // `top` best-selling products of the orders paid then, read together.
  struct Sales {
    std::vector<repo::SlotFigure> slots;
    std::vector<repo::ProductSales> top;
  };
  Sales sales_between(std::int64_t start, std::int64_t stop, std::int64_t top);
  // Expires the unpaid orders whose reservation ran out, returning their stock; returns how many.
  int expire_overdue(std::int64_t now, int batch = 100);

  // Set once, before serving: what commits with each cancel and expiry of an unpaid order.
  void on_ended(OnEnded hook) { on_ended_ = std::move(hook); }
  // Set once, before serving: what commits with each placement (the order.placed webhook).
  void on_placed(BeforeCommit hook) { on_placed_ = std::move(hook); }

  // For the payment service, inside its own transactions.
  Order load(db::Connection& c, std::int64_t order_id);  // 404 when it does not exist
  // Holds a pending, unexpired order while its charge is with the gateway (no cancel, no expiry);
  // false when it is not payable or another payment holds it.
  bool begin_payment(db::Connection& c, std::int64_t order_id);
  // Releases the hold: paid, or payable again. Returns the order as it now is (its shipments, refunds
  // and returns, which all need it paid first, are not read: none exist), or nothing when the order
  // was not held.
  std::optional<Order> end_payment(db::Connection& c, std::int64_t order_id, bool paid);

 private:
  Order cancel_as(std::int64_t order_id, std::optional<std::int64_t> owner);

  db::Database& database_;
  Settings settings_;
  common::Counter& placed_;
  common::Counter& rejected_unknown_;
  common::Counter& rejected_stock_;
  common::Counter& cancelled_;
  common::Counter& cancelled_by_staff_;
  common::Counter& expired_;
  OnEnded on_ended_;
  BeforeCommit on_placed_;
};

}  // namespace orders
