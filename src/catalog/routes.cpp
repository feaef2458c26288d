#include "catalog/routes.hpp"

#include "catalog/service.hpp"
#include "http/pagination.hpp"
#include "http/router.hpp"

#include <boost/json/array.hpp>

namespace catalog {
namespace {

using http::Access;
using http::Body;
using http::Method;
using http::Request;

ProductChange change_from(const Request& q, bool partial) {
  common::FieldErrors errors;
  auto change = product_change_from_json(q.json.get_object(), partial, errors);
  errors.raise_if_any();
  return change;
}

}  // namespace

void register_routes(http::Router& router, Service& service) {
  router.add({.method = Method::get, .path = "/store/products/", .access = Access::user, .handler = [&service](Request& q) {
                http::Page page(q);
                std::optional<std::string> search;
                if (auto s = q.query_param("search"); s && !s->empty()) search = std::string(*s);
                auto found = service.list(search, page.size(), [&](std::int64_t count) { return page.offset(count); });
                boost::json::array results;
                for (const auto& p : found.products) results.push_back(to_json(p));
                return http::json_response(200, page.body(found.count, std::move(results)));
              }});
  router.add({.method = Method::get, .path = "/store/products/{id}/", .access = Access::user,
              .handler = [&service](Request& q) { return http::json_response(200, to_json(service.get(q.id_param()))); }});
  router.add({.method = Method::post, .path = "/store/products/", .access = Access::staff, .body = Body::json,
              .handler = [&service](Request& q) {
                return http::json_response(201, to_json(service.create(change_from(q, false))));
              }});
  router.add({.method = Method::put, .path = "/store/products/{id}/", .access = Access::staff, .body = Body::json,
              .handler = [&service](Request& q) {
                auto id = q.id_param();
                return http::json_response(200, to_json(service.update(id, change_from(q, false))));
              }});
  router.add({.method = Method::patch, .path = "/store/products/{id}/", .access = Access::staff, .body = Body::json,
              .handler = [&service](Request& q) {
                auto id = q.id_param();
                return http::json_response(200, to_json(service.update(id, change_from(q, true))));
              }});
  router.add({.method = Method::del, .path = "/store/products/{id}/", .access = Access::staff,
              .handler = [&service](Request& q) {
                service.remove(q.id_param());
                return http::no_content();
              }});
}

}  // namespace catalog
