#include "orders/repo.hpp"

#include <algorithm>
#include <stdexcept>
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
constexpr auto kSelectOrders = db::concat(
    "SELECT o.id, o.user_id, u.username, u.email, o.status, o.total_amount, o.created_at, o.expires_at", kFromOrders);
constexpr auto kSelectItems = db::concat("SELECT order_id, product_id, product, price, quantity FROM order_items");
constexpr auto kFind = db::concat(kSelectOrders, " WHERE o.id = $1");
constexpr auto kItems = db::concat(kSelectItems, " WHERE order_id = $1 ORDER BY id");
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
// $1 status or NULL, $2 a LIKE pattern, $3 limit, $4 offset. Staff searches are rare and the
// customers matching a text are not indexable by a prefix index anyway, so the join scans users.
constexpr auto kSearchWhere = db::concat(
    " WHERE (CAST($1 AS TEXT) IS NULL OR o.status = $1)"
    " AND (lower(u.username) LIKE $2 ESCAPE '\\' OR u.email LIKE $2 ESCAPE '\\')");
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
constexpr std::string_view kPageItemsPostgres =
    "SELECT order_id, product_id, product, price, quantity FROM order_items"
    " WHERE order_id = ANY(CAST($1 AS BIGINT[])) ORDER BY order_id, id";

// The ids of a page's orders (their first column) as a PostgreSQL array literal.
std::string id_array(const db::Result& orders) {
  std::string ids = "{";
  for (std::size_t i = 0; i < orders.size(); ++i) {
    if (i > 0) ids += ',';
    ids += std::to_string(orders[i].integer(0));
  }
  return ids + '}';
}


// Today's figures for the staff dashboard. A paid order never changes again, so its updated_at is
// the moment it was paid: revenue counts the orders paid since $1, whenever they were placed.
constexpr std::string_view kDaySummary =
    "SELECT (SELECT count(*) FROM orders WHERE created_at >= $1),"
    " (SELECT count(*) FROM orders WHERE status = 'paid' AND updated_at >= $1),"
    " (SELECT CAST(COALESCE(SUM(total_amount), 0) AS BIGINT) FROM orders WHERE status = 'paid' AND updated_at >= $1)";

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
// from-state of its move, so two actors can never both make one. status_writes() lists them for the
// unit test that holds them to the table.
constexpr std::string_view kLeavePending =
    "UPDATE orders SET status = $2, updated_at = $3"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_in_flight = 0"
    " AND (CAST($4 AS BIGINT) IS NULL OR expires_at <= $4)";
constexpr std::string_view kBeginPayment =
    "UPDATE orders SET payment_in_flight = 1, updated_at = $2"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_in_flight = 0 AND expires_at > $2";
// A settled charge: paid moves both axes at once (status pending_payment -> paid, payment_status
// awaiting -> paid); a failed one only releases the hold.
constexpr std::string_view kEndPayment =
    "UPDATE orders SET payment_in_flight = 0, status = CASE WHEN $2 = 1 THEN 'paid' ELSE status END,"
    " payment_status = CASE WHEN $2 = 1 THEN 'paid' ELSE payment_status END, updated_at = $3"
    " WHERE id = $1 AND status = 'pending_payment' AND payment_status = 'awaiting' AND payment_in_flight = 1";
constexpr std::string_view kCancelPaid =
    "UPDATE orders SET status = 'cancelled', updated_at = $2"
    " WHERE id = $1 AND status = 'paid' AND NOT EXISTS (SELECT 1 FROM order_items WHERE order_id = $1 AND shipped > 0)";
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

OrderRow order(const db::Row& r) {
  return {r.integer(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.integer(5), r.integer(6), r.integer(7), {}};
}

ItemRow item(const db::Row& r) { return {r.integer(0), r.integer(1), r.text(2), r.integer(3), r.integer(4)}; }

}  // namespace

std::int64_t insert_order(db::Connection& c, std::int64_t user_id, std::int64_t total, std::int64_t now,
                          std::int64_t expires_at) {
  return c.query(kInsertOrder, user_id, total, now, expires_at)[0].integer(0);
}

void insert_item(db::Connection& c, std::int64_t order_id, const ItemRow& i) {
  c.query(kInsertItem, order_id, i.product_id, i.product, i.price, i.quantity);
}

std::optional<OrderRow> find(db::Connection& c, std::int64_t id) {
  auto r = c.query(kFind, id);
  if (r.empty()) return std::nullopt;
  auto o = order(r[0]);
  auto items = c.query(kItems, id);
  for (std::size_t i = 0; i < items.size(); ++i) o.items.push_back(item(items[i]));
  return o;
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

bool end_payment(db::Connection& c, std::int64_t id, bool paid, std::int64_t now) {
  return c.query(kEndPayment, id, paid, now).affected_rows == 1;
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

}  // namespace orders::repo
