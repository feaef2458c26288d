#include "orders/routes.hpp"

#include "http/pagination.hpp"
#include "http/router.hpp"
#include "idempotency/store.hpp"
#include "orders/service.hpp"
#include "orders/shipping.hpp"

#include <boost/json/array.hpp>

#include <memory>

namespace orders {
namespace {

using http::Access;
using http::Request;

http::Response page_of_orders(Service& service, const Request& q, std::optional<std::int64_t> user_id,
                              std::optional<std::string> status, std::optional<std::string> search = std::nullopt) {
  http::Page page(q);
  auto found =
      service.list(user_id, status, page.size(), [&](std::int64_t count) { return page.offset(count); }, search);
  boost::json::array results;
  for (const auto& o : found.orders) results.push_back(to_json(o));
  return http::json_response(200, page.body(found.count, std::move(results)));
}

http::Response created(const Order& order) { return http::json_response(201, to_json(order)); }

// The placement through the idempotency store. With a key (`finish` set) the 201 is remembered in the
// order's own transaction; without one nothing more is written (the writer's time is precious).
http::Response place_remembered(Service& service, std::int64_t user_id, const std::vector<ItemRequest>& items,
                                const idempotency::Store::Finish& finish) {
  std::optional<http::Response> stored;
  BeforeCommit remember;
  if (finish) {
    remember = [&](db::Connection& c, const Order& o) {
      stored = created(o);
      finish(c, *stored);
    };
  }
  auto order = service.place(user_id, items, remember);
  return stored ? std::move(*stored) : created(order);
}

// POST /store/place_order/ on the pool: with an Idempotency-Key, and every request on PostgreSQL.
http::Response place_order(Service& service, idempotency::Store& keys, Request& q) {
  auto items = items_from_json(q.json.get_object());
  return keys.run(q, [&](const idempotency::Store::Finish& finish) {
    return place_remembered(service, q.user().user_id, items, finish);
  });
}

// The same placement as a write step, for requests without an Idempotency-Key when the server has a
// write queue (SQLite's writer runs the transaction while no thread waits for it).
http::WriteStep place_order_step(Service& service, Request& q) {
  auto order = std::make_shared<Order>();
  auto transaction = [&service, order, user_id = q.user().user_id,
                      items = items_from_json(q.json.get_object())](db::Connection& c) {
    *order = service.place_in(c, user_id, items);
  };
  auto respond = [&service, order] {
    service.placed();
    return created(*order);
  };
  return {.transaction = std::move(transaction), .respond = std::move(respond)};
}

// A page of the customer's own orders, by index.
http::Response list_own_orders(Service& service, Request& q) {
  return page_of_orders(service, q, q.user().user_id, std::nullopt);
}

http::Response get_own_order(Service& service, Request& q) {
  return http::json_response(200, to_json(service.get_for_customer(q.id_param(), q.user().user_id)));
}

http::Response cancel_own_order(Service& service, Request& q) {
  return http::json_response(200, to_json(service.cancel(q.id_param(), q.user().user_id)));
}

// With an Idempotency-Key (`finish` set), a Remember that keeps the 201 inside the work's transaction
// and stores it there, so the work cannot commit without the answer its key replays.
Remember remember_created(const idempotency::Store::Finish& finish, std::optional<http::Response>& stored) {
  if (!finish) return {};
  return [&finish, &stored](db::Connection& c, const boost::json::object& body) {
    stored = http::json_response(201, body);
    finish(c, *stored);
  };
}

}  // namespace

http::Response ship_order(Shipping& shipping, idempotency::Store& keys, Request& q) {
  auto order_id = q.id_param();
  auto request = ship_request_from_json(q.json.get_object());
  return keys.run(q, [&](const idempotency::Store::Finish& finish) {
    std::optional<http::Response> stored;
    auto fulfilment = shipping.ship(order_id, request, q.user().user_id, remember_created(finish, stored));
    return stored ? std::move(*stored) : http::json_response(201, to_json(fulfilment));
  });
}

http::Response deliver_fulfilment(Shipping& shipping, Request& q) {
  return http::json_response(200, to_json(shipping.mark_delivered(q.id_param(), q.id_param("fid"))));
}

// A replay answers the return as it committed (its refund still `processing`); the first answer
// carries the refund as the gateway left it.
http::Response return_items(Shipping& shipping, idempotency::Store& keys, Request& q) {
  auto order_id = q.id_param();
  auto request = return_request_from_json(q.json.get_object());
  return keys.run(q, [&](const idempotency::Store::Finish& finish) {
    std::optional<http::Response> stored;
    auto returned = shipping.take_return(order_id, request, q.user().user_id, remember_created(finish, stored));
    return http::json_response(201, to_json(returned));
  });
}

http::Response list_orders(Service& service, Request& q) {
  std::optional<std::string> status, search;
  if (auto s = q.query_param("status"); s && !s->empty()) status = std::string(*s);
  if (auto s = q.query_param("search"); s && !s->empty()) search = std::string(*s);
  return page_of_orders(service, q, std::nullopt, status, search);
}

http::Response cancel_order(Service& service, Request& q) {
  return http::json_response(200, to_json(service.cancel_by_staff(q.id_param())));
}

void register_routes(http::Router& router, Service& service, idempotency::Store& keys) {
  using http::handle;
  using http::Runs;
  auto step = handle(place_order_step, service);  // without an Idempotency-Key, where the server has a write queue
  router.add(http::post("/store/place_order/", Access::user, handle(place_order, service, keys)).json().write(step));
  router.add(http::get("/store/orders/", Access::user, handle(list_own_orders, service)).runs(Runs::local_read));
  router.add(http::get("/store/orders/{id}/", Access::user, handle(get_own_order, service)).runs(Runs::local_read));
  router.add(http::post("/store/orders/{id}/cancel/", Access::user, handle(cancel_own_order, service)));
}

}  // namespace orders
