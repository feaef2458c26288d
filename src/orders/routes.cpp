#include "orders/routes.hpp"

#include "http/pagination.hpp"
#include "http/router.hpp"
#include "idempotency/store.hpp"
#include "orders/service.hpp"

#include <boost/json/array.hpp>

#include <memory>

namespace orders {
namespace {

using http::Access;
using http::Body;
using http::Method;
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

}  // namespace

void register_routes(http::Router& router, Service& service, idempotency::Store& keys) {
  router.add({.method = Method::post, .path = "/store/place_order/", .access = Access::user, .body = Body::json,
              .handler = [&service, &keys](Request& q) {
                auto items = items_from_json(q.json.get_object());
                return keys.run(q, [&](const idempotency::Store::Finish& finish) {
                  std::optional<http::Response> stored;
                  BeforeCommit remember;  // only with a key: the writer's time is precious
                  if (finish) {
                    remember = [&](db::Connection& c, const Order& o) {
                      stored = http::json_response(201, to_json(o));
                      finish(c, *stored);
                    };
                  }
                  auto order = service.place(q.user().user_id, items, remember);
                  return stored ? std::move(*stored) : http::json_response(201, to_json(order));
                });
              },
              // Without an Idempotency-Key, the same placement as a write step (SQLite's writer runs
              // the transaction while no thread waits for it).
              .write = [&service](Request& q) {
                auto order = std::make_shared<Order>();
                return http::WriteStep{
                    .transaction = [&service, order, user = q.user().user_id,
                                    items = items_from_json(q.json.get_object())](db::Connection& c) {
                      *order = service.place_in(c, user, items);
                    },
                    .respond = [&service, order] {
                      service.placed();
                      return http::json_response(201, to_json(*order));
                    }};
              }});
  router.add({.method = Method::get, .path = "/store/orders/", .access = Access::user, .handler = [&service](Request& q) {
                return page_of_orders(service, q, q.user().user_id, std::nullopt);
              },
              .runs = http::Runs::local_read});  // a page of the customer's own orders, by index
  router.add({.method = Method::get, .path = "/store/orders/{id}/", .access = Access::user,
              .handler = [&service](Request& q) {
                return http::json_response(200, to_json(service.get_for_customer(q.id_param(), q.user().user_id)));
              },
              .runs = http::Runs::local_read});
  router.add({.method = Method::post, .path = "/store/orders/{id}/cancel/", .access = Access::user,
              .handler = [&service](Request& q) {
                return http::json_response(200, to_json(service.cancel(q.id_param(), q.user().user_id)));
              }});
  router.add({.method = Method::get, .path = "/admin/orders/", .access = Access::staff, .handler = [&service](Request& q) {
                std::optional<std::string> status, search;
                if (auto s = q.query_param("status"); s && !s->empty()) status = std::string(*s);
                if (auto s = q.query_param("search"); s && !s->empty()) search = std::string(*s);
                return page_of_orders(service, q, std::nullopt, status, search);
              }});
  router.add({.method = Method::post, .path = "/admin/orders/{id}/cancel/", .access = Access::staff,
              .handler = [&service](Request& q) {
                return http::json_response(200, to_json(service.cancel_by_staff(q.id_param())));
              }});
}

}  // namespace orders
