#include "orders/repo.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

namespace orders::repo {
namespace {

constexpr std::string_view kInsertOrder =
    "INSERT INTO orders (user_id, status, total_amount, created_at, expires_at, updated_at)"
    " VALUES ($1, 'pending_payment', $2, $3, $4, $3) RETURNING id";
constexpr std::string_view kInsertItem =
    "INSERT INTO order_items (order_id, product_id, product, price, quantity) VALUES ($1, $2, $3, $4, $5)";
// The columns order() and item() read, in their order.
constexpr auto kFromOrders = db::concat(" FROM orders o JOIN users u ON u.id = o.user_id");
constexpr auto kSelectOrderColumns = db::concat(
    "SELECT o.id, o.user_id, u.username, u.email, o.status, o.total_amount, o.created_at, o.expires_at,"
    " o.payment_status, o.fulfilment_status");
constexpr int kOrderColumnCount = 10;
constexpr auto kSelectOrders = db::concat(kSelectOrderColumns, kFromOrders);
constexpr auto kItemColumns = db::concat("order_id, product_id, product, price, quantity, id, shipped, delivered, returned");
constexpr auto kSelectItems = db::concat("SELECT ", kItemColumns, " FROM order_items");
constexpr auto kFind = db::concat(kSelectOrders, " WHERE o.id = $1");
constexpr auto kItems = db::concat(kSelectItems, " WHERE order_id = $1 ORDER BY id");
// PostgreSQL reads an order and its items in one statement, a row per item (a round trip is what a
// statement costs there; make_payment loads its order twice). SQLite keeps the two statements above.
constexpr auto kSelectOrderWithItemColumns = db::concat(
    kSelectOrderColumns,
    ", i.order_id, i.product_id, i.product, i.price, i.quantity, i.id, i.shipped, i.delivered, i.returned");
constexpr auto kJoinItems = db::concat(" LEFT JOIN order_items i ON i.order_id = o.id");
constexpr auto kFindWithItemsPostgres =
    db::concat(kSelectOrderWithItemColumns, kFromOrders, kJoinItems, " WHERE o.id = $1 ORDER BY i.id");
// Listing has three shapes, each with SQL an index can serve: one customer's orders (orders_user),
// every order with a status (orders_status), every order. A single statement with "$1 IS NULL OR
// user_id = $1" would make the planner scan the whole table for every customer's page.
struct ListSql {
  std::string_view count;
  std::string_view page;
  std::string_view items;  // the items of exactly the orders on that page (SQLite; see kPageItemsPostgres)
};
constexpr auto kOfUserCount = db::concat("SELECT count(*) FROM orders WHERE user_id = $1");
constexpr auto kOfUserPage = db::concat(kSelectOrders, " WHERE o.user_id = $1 ORDER BY o.id DESC LIMIT $2 OFFSET $3");
constexpr auto kOfUserItems = db::concat(
    kSelectItems, " WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3)",
    " ORDER BY id");
constexpr ListSql kOfUser{kOfUserCount, kOfUserPage, kOfUserItems};
constexpr auto kWithStatusCount = db::concat("SELECT count(*) FROM orders WHERE status = $1");
constexpr auto kWithStatusPage =
    db::concat(kSelectOrders, " WHERE o.status = $1 ORDER BY o.id DESC LIMIT $2 OFFSET $3");
constexpr auto kWithStatusItems = db::concat(
    kSelectItems, " WHERE order_id IN (SELECT id FROM orders WHERE status = $1 ORDER BY id DESC LIMIT $2 OFFSET $3)",
    " ORDER BY id");
constexpr ListSql kWithStatus{kWithStatusCount, kWithStatusPage, kWithStatusItems};
// Every order: no filter, so no $1 (limit and offset are $1 and $2).
constexpr auto kEveryCount = db::concat("SELECT count(*) FROM orders");
constexpr auto kEveryPage = db::concat(kSelectOrders, " ORDER BY o.id DESC LIMIT $1 OFFSET $2");
constexpr auto kEveryItems = db::concat(
    kSelectItems, " WHERE order_id IN (SELECT id FROM orders ORDER BY id DESC LIMIT $1 OFFSET $2) ORDER BY id");
constexpr ListSql kEvery{kEveryCount, kEveryPage, kEveryItems};
// Staff search by customer (a part of the username or email), optionally with a status:
// $1 status or NULL, $2 a LIKE pattern, $3 limit, $4 offset. The customers matching a text are not
// indexable by a prefix index, so users are scanned, once: their orders are then found by orders_user.
// (Matching each order's customer instead made SQLite test every order: about 1 s with 200,000 orders,
// against 6-30 ms this way, an audit's figures.)
constexpr auto kSearchWhere = db::concat(
    " WHERE o.user_id IN (SELECT id FROM users WHERE lower(username) LIKE $2 ESCAPE '\\' OR email LIKE $2 ESCAPE '\\')"
    " AND (CAST($1 AS TEXT) IS NULL OR o.status = $1)");
constexpr auto kSearchCount = db::concat("SELECT count(*)", kFromOrders, kSearchWhere);
constexpr auto kSearchPage = db::concat(kSelectOrders, kSearchWhere, " ORDER BY o.id DESC LIMIT $3 OFFSET $4");
constexpr auto kSearchItems = db::concat(kSelectItems, " WHERE order_id IN (SELECT o.id", kFromOrders, kSearchWhere,
                                         " ORDER BY o.id DESC LIMIT $3 OFFSET $4) ORDER BY id");
constexpr ListSql kSearch{kSearchCount, kSearchPage, kSearchItems};

// PostgreSQL reads a page's items by the ids of its orders ($1, an array). The IN (page subquery)
// form above leaves the planner free to hash the page against a scan of all of order_items, and it
// does so whenever it overestimates the items per order: until the first ANALYZE it assumes 200
// distinct order_ids, i.e. 1/200 of the table per order, so after a burst of orders on a new
// database every page read all of order_items (28,050 rows for the 10 items of 10 orders: 2.8 ms
// instead of 0.014). Given the ids, that same guess puts a page of 10 at 5% of the table, and each
// id costs an operator call on every row of a seq scan, so the planner takes order_items_order for
// pages of up to ~50 orders with or without statistics. (A LATERAL lookup per order would hold for
// any page size, but a plan cached while the table was a page or two does a seq scan per order.)
// Ordered by order_id first so that no plan walks the primary key to return items in id order.
constexpr auto kPageItemsPostgres =
    db::concat(kSelectItems, " WHERE order_id = ANY(CAST($1 AS BIGINT[])) ORDER BY order_id, id");

// The ids of a page's orders (their first column) as a PostgreSQL array literal.
std::string id_array(const db::Result& orders) {
  std::string ids = "{";
  for (std::size_t i = 0; i < orders.size(); ++i) {
    if (i > 0) ids += ',';
    ids += std::to_string(orders[i].integer(0));
  }
  return ids + '}';
}


// What happened after payment, read for a set of orders by their ids ($1: a JSON array on SQLite, read
// with json_each; an array literal on PostgreSQL), one statement per kind whatever the page size, and
// only for the orders that can have any: nothing is shipped or returned from a not_fulfilled order, and
// nothing refunded from one that was never paid. So a page of unpaid orders (the common case) costs no
// statement more than before.
constexpr auto kFulfilmentColumns = db::concat(
    "SELECT f.id, f.order_id, f.carrier, f.tracking_number, f.tracking_url, f.shipped_at, f.delivered_at,"
    " i.product_id, i.product, fi.quantity"
    " FROM fulfilments f JOIN fulfilment_items fi ON fi.fulfilment_id = f.id"
    " JOIN order_items i ON i.id = fi.order_item_id");
constexpr auto kFulfilmentsSqlite = db::concat(
    kFulfilmentColumns, " WHERE f.order_id IN (SELECT value FROM json_each($1)) ORDER BY f.order_id, f.id, i.id");
constexpr auto kFulfilmentsPostgres =
    db::concat(kFulfilmentColumns, " WHERE f.order_id = ANY(CAST($1 AS BIGINT[])) ORDER BY f.order_id, f.id, i.id");
constexpr auto kRefundColumns =
    db::concat("SELECT id, order_id, amount, reason, status, created_at, return_id, failure_code, updated_at",
               " FROM refunds");
constexpr auto kRefundsSqlite =
    db::concat(kRefundColumns, " WHERE order_id IN (SELECT value FROM json_each($1)) ORDER BY order_id, id");
constexpr auto kRefundsPostgres =
    db::concat(kRefundColumns, " WHERE order_id = ANY(CAST($1 AS BIGINT[])) ORDER BY order_id, id");
constexpr auto kReturnColumns = db::concat(
    "SELECT r.id, r.order_id, r.reason, r.created_at, i.product_id, i.product, ri.quantity, ri.restocked"
    " FROM returns r JOIN return_items ri ON ri.return_id = r.id JOIN order_items i ON i.id = ri.order_item_id");
constexpr auto kReturnsSqlite = db::concat(
    kReturnColumns, " WHERE r.order_id IN (SELECT value FROM json_each($1)) ORDER BY r.order_id, r.id, i.id");
constexpr auto kReturnsPostgres =
    db::concat(kReturnColumns, " WHERE r.order_id = ANY(CAST($1 AS BIGINT[])) ORDER BY r.order_id, r.id, i.id");

// `ids` as the $1 of the statements above, in the connection's dialect.
std::string id_list(const db::Connection& c, const std::vector<std::int64_t>& ids) {
  const bool postgres = c.dialect() == db::Dialect::postgres;
  std::string text(1, postgres ? '{' : '[');
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(ids[i]);
  }
  return text + (postgres ? '}' : ']');
}

// Adds a line's units to a record's items, which keep one entry per product (an order may have
// several lines of one product).
template <class ItemRow>
void add_item(std::vector<ItemRow>& items, ItemRow added) {
  for (auto& it : items) {
    if (it.product_id != added.product_id) continue;
    it.quantity += added.quantity;
    if constexpr (std::is_same_v<ItemRow, ReturnItemRow>) it.restocked += added.restocked;
    return;
  }
  items.push_back(std::move(added));
}

using OrderIndex = std::unordered_map<std::int64_t, OrderRow*>;

void attach_fulfilments(db::Connection& c, const OrderIndex& index, const std::vector<std::int64_t>& ids) {
  auto r = c.query(c.sql(kFulfilmentsSqlite, kFulfilmentsPostgres), id_list(c, ids));
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto& order = *index.at(r[i].integer(1));
    if (order.fulfilments.empty() || order.fulfilments.back().id != r[i].integer(0)) {
      order.fulfilments.push_back({r[i].integer(0), r[i].integer(1), r[i].text(2), r[i].text(3), r[i].text(4),
                                   r[i].integer(5), r[i].optional_integer(6), {}});
    }
    add_item(order.fulfilments.back().items, FulfilmentItemRow{r[i].integer(7), r[i].text(8), r[i].integer(9)});
  }
}

void attach_returns(db::Connection& c, const OrderIndex& index, const std::vector<std::int64_t>& ids) {
  auto r = c.query(c.sql(kReturnsSqlite, kReturnsPostgres), id_list(c, ids));
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto& order = *index.at(r[i].integer(1));
    if (order.returns.empty() || order.returns.back().id != r[i].integer(0)) {
      order.returns.push_back({r[i].integer(0), r[i].integer(1), r[i].text(2), r[i].integer(3), {}});
    }
    add_item(order.returns.back().items, ReturnItemRow{r[i].integer(4), r[i].text(5), r[i].integer(6), r[i].integer(7)});
  }
}

void attach_refunds(db::Connection& c, const OrderIndex& index, const std::vector<std::int64_t>& ids) {
  auto r = c.query(c.sql(kRefundsSqlite, kRefundsPostgres), id_list(c, ids));
  for (std::size_t i = 0; i < r.size(); ++i) {
    index.at(r[i].integer(1))
        ->refunds.push_back({r[i].integer(0), r[i].integer(1), r[i].integer(2), r[i].text(3), r[i].text(4),
                             r[i].integer(5), r[i].optional_integer(6), r[i].optional_text(7), r[i].integer(8)});
  }
}

// Fills in the fulfilments, returns and refunds of `orders`, at most one statement each.
void attach_after_payment(db::Connection& c, std::span<OrderRow> orders) {
  OrderIndex index;
  std::vector<std::int64_t> shipped, paid;
  for (auto& o : orders) {
    index[o.id] = &o;
    if (o.fulfilment_status != "not_fulfilled") shipped.push_back(o.id);
    if (o.payment_status != "awaiting" && o.payment_status != "none") paid.push_back(o.id);
  }
  if (!shipped.empty()) {
    attach_fulfilments(c, index, shipped);
    attach_returns(c, index, shipped);
  }
  if (!paid.empty()) attach_refunds(c, index, paid);
}

// Today's figures for the staff dashboard. Paid is counted by the payment's settle time (a succeeded
// payment's updated_at, which nothing moves afterwards), not by orders.updated_at, which staff's
// cancel of a paid order moves (issue #22): an order paid today and cancelled today was still paid
// today, and one paid yesterday is not today's. Revenue is what those payments took (the order's
// total), whenever the orders were placed; refunds are the sales report's own figure.
constexpr std::string_view kDaySummary =
    "SELECT (SELECT count(*) FROM orders WHERE created_at >= $1),"
    " (SELECT count(*) FROM payments WHERE status = 'succeeded' AND updated_at >= $1),"
    " (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE status = 'succeeded' AND updated_at >= $1)";

// The statements for a listing and the value of their $1 (none: every order).
std::pair<const ListSql&, std::optional<db::Value>> list_sql(std::optional<std::int64_t> user_id,
                                                             const std::optional<std::string>& status) {
  if (user_id && status) throw std::logic_error("orders of one user are listed without a status filter");
  if (user_id) return {kOfUser, *user_id};
  if (status) return {kWithStatus, *status};
  return {kEvery, std::nullopt};
}

// Runs one of a listing's statements: the filter value first when there is one, then `args`.
template <class... Args>
db::Result run(db::Connection& c, std::string_view sql, const std::optional<db::Value>& key, const Args&... args) {
  return key ? c.query(sql, *key, args...) : c.query(sql, args...);
}
// The status-guarded moves of orders/status.hpp: each runs only while the order is still in the
// from-state of its move, so two actors can never both make one. status_writes() and payment_writes()
// list them for the unit test that holds them to the tables. An order that leaves pending_payment
// unpaid never had money: its payment_status goes from awaiting to none in the same statement.
constexpr std::string_view kLeavePending =
    "UPDATE orders SET status = $2, payment_status = 'none', updated_at = $3"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_status = 'awaiting' AND payment_in_flight = 0"
    " AND (CAST($4 AS BIGINT) IS NULL OR expires_at <= $4)";
// A settled charge: paid moves both axes at once (status pending_payment -> paid, payment_status
// awaiting -> paid); a failed one only releases the hold.
constexpr auto kEndPayment = db::concat(
    "UPDATE orders SET payment_in_flight = 0, status = CASE WHEN $2 = 1 THEN 'paid' ELSE status END,"
    " payment_status = CASE WHEN $2 = 1 THEN 'paid' ELSE payment_status END, updated_at = $3"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_status = 'awaiting' AND payment_in_flight = 1");
// PostgreSQL ends the charge and reads the order as it now is, with its items, in one statement (the
// settle's; a round trip is what a statement costs there). No row: the order was not in flight.
constexpr auto kEndPaymentAndFindPostgres = db::concat(
    "WITH o AS (", kEndPayment,
    " RETURNING id, user_id, status, total_amount, created_at, expires_at, payment_status, fulfilment_status) ",
    kSelectOrderWithItemColumns, " FROM o JOIN users u ON u.id = o.user_id", kJoinItems, " ORDER BY i.id");
// Staff cancel of a paid order, only while nothing of it is shipped. The guard is on the order row's
// own fulfilment_status as well as on the items: a shipment moves fulfilment_status in its transaction,
// and PostgreSQL re-checks a waiting UPDATE's WHERE on the newest version of the row it updates (not
// on other tables), so a cancel that waited for a shipment's lock sees it.
constexpr std::string_view kCancelPaid =
    "UPDATE orders SET status = 'cancelled', updated_at = $2"
    " WHERE id = $1 AND status = 'paid' AND fulfilment_status = 'not_fulfilled'"
    " AND NOT EXISTS (SELECT 1 FROM order_items WHERE order_id = $1 AND shipped > 0)";
constexpr std::string_view kShippedUnits =
    "SELECT CAST(COALESCE(SUM(shipped), 0) AS BIGINT) FROM order_items WHERE order_id = $1";
constexpr std::string_view kOverdue =
    "SELECT id FROM orders WHERE status = 'pending_payment' AND payment_in_flight = 0 AND expires_at <= $1"
    " ORDER BY expires_at LIMIT $2";
constexpr auto kClaimOverdueSqlite = db::concat(
    "SELECT id FROM orders"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_in_flight = 0 AND expires_at <= $2");
constexpr auto kClaimOverduePostgres = db::concat(kClaimOverdueSqlite, " FOR UPDATE SKIP LOCKED");

constexpr std::string_view kCustomer = "SELECT username, email FROM users WHERE id = $1";
// $2 and $3 are array literals ({1,2}) of the lines' product ids and quantities.
constexpr std::string_view kPlacePostgres =
    "SELECT order_id, customer, email, product_id, product, price, stock"
    " FROM orderd_place_order($1, CAST($2 AS BIGINT[]), CAST($3 AS BIGINT[]), $4, $5)";

OrderRow order(const db::Row& r) {
  return {.id = r.integer(0),
          .user_id = r.integer(1),
          .customer = r.text(2),
          .email = r.text(3),
          .status = r.text(4),
          .total_amount = r.integer(5),
          .created_at = r.integer(6),
          .expires_at = r.integer(7),
          .payment_status = r.text(8),
          .fulfilment_status = r.text(9)};
}

// An item from its columns, starting at `at` (0: kItemColumns alone; after an order's columns).
ItemRow item(const db::Row& r, int at = 0) {
  return {r.integer(at), r.integer(at + 1), r.text(at + 2), r.integer(at + 3), r.integer(at + 4),
          r.integer(at + 5), r.integer(at + 6), r.integer(at + 7), r.integer(at + 8)};
}

// An order from kSelectOrderWithItemColumns' rows, one per item (one with NULL items: none).
std::optional<OrderRow> order_with_items(const db::Result& r) {
  if (r.empty()) return std::nullopt;
  auto o = order(r[0]);
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!r[i].is_null(kOrderColumnCount)) o.items.push_back(item(r[i], kOrderColumnCount));
  }
  return o;
}

std::optional<OrderRow> find_with_items(db::Connection& c, std::int64_t id) {
  if (c.dialect() == db::Dialect::postgres) return order_with_items(c.query(kFindWithItemsPostgres, id));
  auto r = c.query(kFind, id);
  if (r.empty()) return std::nullopt;
  auto o = order(r[0]);
  auto items = c.query(kItems, id);
  for (std::size_t i = 0; i < items.size(); ++i) o.items.push_back(item(items[i]));
  return o;
}

}  // namespace

std::int64_t insert_order(db::Connection& c, std::int64_t user_id, std::int64_t total, std::int64_t now,
                          std::int64_t expires_at) {
  return c.query(kInsertOrder, user_id, total, now, expires_at)[0].integer(0);
}

void insert_item(db::Connection& c, std::int64_t order_id, const ItemRow& i) {
  c.query(kInsertItem, order_id, i.product_id, i.product, i.price, i.quantity);
}

std::optional<OrderRow> find(db::Connection& c, std::int64_t id) {
  auto o = find_with_items(c, id);
  if (o) attach_after_payment(c, std::span(&*o, 1));
  return o;
}

std::vector<PlacedLine> place_at_once(db::Connection& c, std::int64_t user_id, const std::vector<std::int64_t>& products,
                                      const std::vector<std::int64_t>& quantities, std::int64_t now,
                                      std::int64_t expires_at) {
  auto r = c.query(kPlacePostgres, user_id, id_list(c, products), id_list(c, quantities), now, expires_at);
  std::vector<PlacedLine> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    out.push_back({r[i].integer(0), r[i].text(1), r[i].text(2), r[i].integer(3), r[i].text(4), r[i].integer(5),
                   r[i].integer(6)});
  }
  return out;
}

Customer customer(db::Connection& c, std::int64_t user_id) {
  auto r = c.query(kCustomer, user_id);
  if (r.empty()) throw std::runtime_error("order for an unknown user " + std::to_string(user_id));
  return {r[0].text(0), r[0].text(1)};
}

std::int64_t count(db::Connection& c, std::optional<std::int64_t> user_id, const std::optional<std::string>& status,
                   const std::optional<std::string>& search) {
  if (search) return c.query(kSearch.count, status, db::contains_pattern(std::string_view(*search)))[0].integer(0);
  auto [sql, key] = list_sql(user_id, status);
  return run(c, sql.count, key)[0].integer(0);
}

std::vector<OrderRow> list(db::Connection& c, std::optional<std::int64_t> user_id,
                           const std::optional<std::string>& status, std::int64_t limit, std::int64_t offset,
                           const std::optional<std::string>& search) {
  const bool postgres = c.dialect() == db::Dialect::postgres;
  db::Result rows, items;
  if (search) {
    if (user_id) throw std::logic_error("orders of one user are not searched");
    auto pattern = db::contains_pattern(std::string_view(*search));
    rows = c.query(kSearch.page, status, pattern, limit, offset);
    if (!postgres) items = c.query(kSearch.items, status, pattern, limit, offset);
  } else {
    auto [sql, key] = list_sql(user_id, status);
    rows = run(c, sql.page, key, limit, offset);
    if (!postgres) items = run(c, sql.items, key, limit, offset);
  }
  if (postgres && !rows.empty()) items = c.query(kPageItemsPostgres, id_array(rows));
  std::vector<OrderRow> out;
  std::unordered_map<std::int64_t, std::size_t> index;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.push_back(order(rows[i]));
    index[out.back().id] = i;
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto it = item(items[i]);
    if (auto found = index.find(it.order_id); found != index.end()) out[found->second].items.push_back(std::move(it));
  }
  attach_after_payment(c, out);
  return out;
}

DaySummary day_summary(db::Connection& c, std::int64_t since) {
  auto r = c.query(kDaySummary, since);
  return {r[0].integer(0), r[0].integer(1), r[0].integer(2)};
}

bool leave_pending(db::Connection& c, std::int64_t id, OrderStatus status, std::int64_t now,
                   std::optional<std::int64_t> overdue_at) {
  if (!can_move(OrderStatus::pending_payment, status)) {
    throw std::logic_error("an order cannot move from pending_payment to " + std::string(to_string(status)));
  }
  return c.query(kLeavePending, id, to_string(status), now, overdue_at).affected_rows == 1;
}

bool begin_payment(db::Connection& c, std::int64_t id, std::int64_t now) {
  return c.query(kBeginPayment, id, now).affected_rows == 1;
}

std::optional<OrderRow> end_payment(db::Connection& c, std::int64_t id, bool paid, std::int64_t now) {
  if (c.dialect() == db::Dialect::postgres) return order_with_items(c.query(kEndPaymentAndFindPostgres, id, paid, now));
  if (c.query(kEndPayment, id, paid, now).affected_rows != 1) return std::nullopt;
  return find_with_items(c, id);
}

bool cancel_paid(db::Connection& c, std::int64_t id, std::int64_t now) {
  return c.query(kCancelPaid, id, now).affected_rows == 1;
}

std::int64_t shipped_units(db::Connection& c, std::int64_t order_id) {
  return c.query(kShippedUnits, order_id)[0].integer(0);
}

std::vector<std::int64_t> overdue(db::Connection& c, std::int64_t now, std::int64_t limit) {
  auto r = c.query(kOverdue, now, limit);
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < r.size(); ++i) ids.push_back(r[i].integer(0));
  return ids;
}

bool claim_overdue(db::Connection& c, std::int64_t id, std::int64_t now) {
  return !c.query(c.sql(kClaimOverdueSqlite, kClaimOverduePostgres), id, now).empty();
}

std::span<const StatusWrite> status_writes() {
  using enum OrderStatus;
  static constexpr StatusWrite kWrites[] = {
      {"insert_order", kInsertOrder, std::nullopt, pending_payment},
      {"leave_pending", kLeavePending, pending_payment, cancelled},
      {"leave_pending", kLeavePending, pending_payment, expired},
      {"end_payment", kEndPayment, pending_payment, paid},
      {"cancel_paid", kCancelPaid, paid, cancelled},
  };
  return kWrites;
}

std::span<const PaymentWrite> payment_writes() {
  using enum PaymentStatus;
  static constexpr PaymentWrite kWrites[] = {
      {"leave_pending", kLeavePending, awaiting, none},
      {"end_payment", kEndPayment, awaiting, paid},
  };
  return kWrites;
}

}  // namespace orders::repo
