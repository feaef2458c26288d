#include "catalog/routes.hpp"

#include "catalog/service.hpp"
#include "http/csv.hpp"
#include "http/pagination.hpp"
#include "http/response_cache.hpp"
#include "http/router.hpp"

#include <boost/json/array.hpp>

#include <chrono>
#include <memory>

namespace catalog {
namespace {

using http::Access;
using http::Runs;
using http::Request;

// The body as `parse` (product_change_from_json or product_update_from_json) reads it; its field
// errors are one validation_error.
template <class Parse>
auto body_of(const Service& service, const Request& q, bool partial, Parse parse) {
  common::FieldErrors errors;
  auto parsed = parse(q.json.get_object(), partial, service.currency(), errors);
  errors.raise_if_any();
  return parsed;
}

// The list's ?search, when it says something.
std::optional<std::string> search_of(const Request& q) {
  if (auto s = q.query_param("search"); s && !s->empty()) return std::string(*s);
  return std::nullopt;
}

// The two reads every shop page makes are local reads (the I/O thread with SQLite), except a text
// search, which scans the catalogue.
// It runs on the I/O thread, before the route's errors are answered: it reads the raw value and never
// throws (a search that is not UTF-8 text is then refused by search_of, on the route's own path).
bool is_search(const Request& q) {
  auto search = q.raw_query_param("search");
  return search && !search->empty();
}

// The generation a page of the list is kept at; none for a search, which is never kept, or while
// the database cannot tell one (db::Database::write_generation).
std::optional<std::uint64_t> page_generation(Service& service, const Request& q) {
  return is_search(q) ? std::nullopt : service.write_generation();
}

// A page of the catalogue kept in `pages` at the current generation, if there is one made already.
std::optional<http::Response> kept_products(Service& service, const std::shared_ptr<http::ResponseCache>& pages,
                                            Request& q) {
  auto generation = page_generation(service, q);
  if (!generation) return std::nullopt;
  return pages->find(http::ResponseCache::key(q), *generation);
}

// A page of the catalogue, kept in `pages` unless it is a search.
http::Response list_products(Service& service, const std::shared_ptr<http::ResponseCache>& pages, Request& q) {
  auto search = search_of(q);
  auto make = [&] {
    http::Page page(q);
    auto found = service.list(search, page.size(), page.named_offset(),
                              [&](std::int64_t count) { return page.offset(count); });
    boost::json::array results;
    for (const auto& p : found.products) results.push_back(to_json(p));
    return http::json_response(200, page.body(found.count, std::move(results)));
  };
  auto generation = page_generation(service, q);
  if (!generation) return make();
  return pages->serve(http::ResponseCache::key(q), *generation, make);
}

// GET /store/products/export.csv (staff, issue #22): every product on sale by id, streamed a page at a
// time (keyset on the id), so the export's memory does not grow with the catalogue.
http::Response export_products(Service& service, Request&) {
  constexpr std::int64_t kPerPage = 1000;
  auto after = std::make_shared<std::int64_t>(0);
  auto pages = [&service, after](std::string& out) {
    auto page = service.list_after(*after, kPerPage);
    for (const auto& p : page) {
      http::csv::append_record(out, {std::to_string(p.id), http::csv::text(p.name), http::csv::text(p.description),
                                     p.price.to_string(), std::to_string(p.stock)});
      *after = p.id;
    }
    return static_cast<std::int64_t>(page.size()) == kPerPage;
  };
  std::string header;
  http::csv::append_record(header, {"id", "name", "description", "price", "stock"});
  return http::csv::stream("products.csv", std::move(header), std::move(pages));
}

http::Response get_product(Service& service, Request& q) {
  return http::json_response(200, to_json(service.get(q.id_param())));
}

http::Response create_product(Service& service, Request& q) {
  return http::json_response(201, to_json(service.create(body_of(service, q, false, product_change_from_json))));
}

http::Response replace_product(Service& service, Request& q) {
  auto id = q.id_param();
  return http::json_response(200, to_json(service.update(id, body_of(service, q, false, product_update_from_json))));
}

http::Response patch_product(Service& service, Request& q) {
  auto id = q.id_param();
  return http::json_response(200, to_json(service.update(id, body_of(service, q, true, product_update_from_json))));
}

http::Response archive_product(Service& service, Request& q) {
  service.archive(q.id_param());
  return http::no_content();
}

}  // namespace

void register_routes(http::Router& router, Service& service) {
  using http::handle;
  // Pages of the catalogue are what a shop serves most, and the same to every customer: kept until
  // this process commits any write (an order takes stock), until another node changes a product on
  // PostgreSQL (LISTEN/NOTIFY, db/postgres.hpp), or for a second at most (a write by another process
  // on SQLite: the CLI's import; a PostgreSQL listener whose connection died unnoticed).
  // Where the pages are read over the network (PostgreSQL), a kept one is answered on the I/O thread.
  // (Each handler owns a copy of the pointer: handle() keeps lvalues by reference.)
  auto pages = std::make_shared<http::ResponseCache>(128, std::chrono::seconds(1));
  router.add(http::get("/store/products/", Access::user, handle(list_products, service, std::shared_ptr(pages)))
                 .runs(Runs::local_read)
                 .scans(is_search)
                 .kept(handle(kept_products, service, std::shared_ptr(pages))));
  // Before {id}/, which would take "export.csv" for an id.
  router.add(http::get("/store/products/export.csv", Access::staff, handle(export_products, service)));
  router.add(http::get("/store/products/{id}/", Access::user, handle(get_product, service)).runs(Runs::local_read));
  router.add(http::post("/store/products/", Access::staff, handle(create_product, service)).json_or_form());
  router.add(http::put("/store/products/{id}/", Access::staff, handle(replace_product, service)).json_or_form());
  router.add(http::patch("/store/products/{id}/", Access::staff, handle(patch_product, service)).json_or_form());
  router.add(http::del("/store/products/{id}/", Access::staff, handle(archive_product, service)));
}

}  // namespace catalog
