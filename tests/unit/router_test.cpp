#include "common/error.hpp"
#include "http/response_cache.hpp"
#include "http/router.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <vector>

using http::Access;
using http::Body;
using http::Method;
using http::Request;
using http::Response;
using http::Router;

namespace {

Router sample_router() {
  Router r;
  auto ok = [](Request&) { return http::json_response(200, {{"ok", true}}); };
  r.add({.method = Method::get, .path = "/store/products/", .handler = ok});
  r.add({.method = Method::post, .path = "/store/products/", .access = Access::staff, .handler = ok});
  r.add({.method = Method::get, .path = "/store/products/{id}/", .handler = ok});
  r.add({.method = Method::post, .path = "/store/orders/{id}/cancel/", .handler = ok});
  r.add({.method = Method::post, .path = "/register/", .body = Body::json, .handler = [](Request& q) {
           return http::json_response(201, q.json);
         }});
  return r;
}

boost::json::object body_of(const Response& r) { return boost::json::parse(r.body).as_object(); }

}  // namespace

TEST(Router, MatchesWithAndWithoutTrailingSlash) {
  Router r = sample_router();
  http::Params params;
  EXPECT_NE(r.match(Method::get, "/store/products/", params).route, nullptr);
  EXPECT_NE(r.match(Method::get, "/store/products", params).route, nullptr);
  EXPECT_EQ(r.match(Method::get, "/store/products//", params).route, nullptr);
  EXPECT_EQ(r.match(Method::get, "/store", params).route, nullptr);
  EXPECT_EQ(r.match(Method::get, "", params).route, nullptr);
}

TEST(Router, ExtractsPathParameters) {
  Router r = sample_router();
  http::Params params;
  auto m = r.match(Method::post, "/store/orders/42/cancel", params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->path, "/store/orders/{id}/cancel/");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "id");
  EXPECT_EQ(params[0].second, "42");
}

TEST(Router, ReportsAllowedMethodsForKnownPaths) {
  Router r = sample_router();
  http::Params params;
  auto m = r.match(Method::del, "/store/products/", params);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  auto unknown = r.match(Method::del, "/nowhere/", params);
  EXPECT_TRUE(unknown.allow.empty());
}

TEST(Router, HeadIsServedByTheGetRoute) {
  Router r = sample_router();
  http::Params params;
  auto m = r.match(Method::head, "/store/products/", params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, Method::get);
  auto post_only = r.match(Method::head, "/store/orders/42/cancel/", params);
  EXPECT_EQ(post_only.route, nullptr);
  EXPECT_EQ(post_only.allow, "POST");
}

TEST(Router, IdParameterMustBeAPositiveInteger) {
  Request q;
  q.path_params = {{"id", "12"}};
  EXPECT_EQ(q.id_param(), 12);
  for (const char* bad : {"0", "-1", "abc", "1e3", "99999999999999999999", ""}) {
    q.path_params = {{"id", bad}};
    try {
      q.id_param();
      FAIL() << bad;
    } catch (const common::Error& e) {
      EXPECT_EQ(e.code(), "not_found");
    }
  }
}

TEST(Router, StaffRoutesRejectAnonymousAndCustomers) {
  Router r = sample_router();
  r.set_authenticator([](const Request& q) -> http::Principal {
    if (q.authorization.empty()) throw common::Error("not_authenticated", "no credentials");
    return {.user_id = 1, .staff = q.authorization == "staff"};
  });
  http::Params params;
  const auto* route = r.match(Method::post, "/store/products/", params).route;
  Request anonymous;
  EXPECT_EQ(r.execute(*route, anonymous).status, 401);
  Request customer;
  customer.authorization = "customer";
  auto forbidden = r.execute(*route, customer);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(body_of(forbidden).at("code"), "forbidden");
  Request staff;
  staff.authorization = "staff";
  EXPECT_EQ(r.execute(*route, staff).status, 200);
}

TEST(Router, JsonBodiesAreCheckedBeforeTheHandler) {
  Router r = sample_router();
  http::Params params;
  const auto* route = r.match(Method::post, "/register", params).route;
  ASSERT_NE(route, nullptr);

  Request wrong_type;
  wrong_type.content_type = "text/plain";
  wrong_type.body = "{}";
  EXPECT_EQ(r.execute(*route, wrong_type).status, 415);

  Request malformed;
  malformed.content_type = "application/json";
  malformed.body = "{\"email\": ";
  auto m = r.execute(*route, malformed);
  EXPECT_EQ(m.status, 400);
  EXPECT_EQ(body_of(m).at("code"), "malformed_json");

  Request not_object;
  not_object.content_type = "application/json; charset=utf-8";
  not_object.body = "[1, 2]";
  EXPECT_EQ(body_of(r.execute(*route, not_object)).at("code"), "validation_error");

  Request fine;
  fine.content_type = "Application/JSON";
  fine.body = "{\"a\": 1}";
  EXPECT_EQ(r.execute(*route, fine).status, 201);
}

TEST(Router, UnexpectedExceptionsBecomeAnOpaque500) {
  Router r;
  r.add({.method = Method::get, .path = "/boom", .handler = [](Request&) -> Response {
           throw std::runtime_error("secret internals: table users");
         }});
  http::Params params;
  Request q;
  q.request_id = "rid-1";
  auto res = r.execute(*r.match(Method::get, "/boom", params).route, q);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("secret"), std::string::npos);
  auto body = body_of(res);
  EXPECT_EQ(body.at("code"), "internal_error");
  EXPECT_EQ(body.at("details").at("request_id"), "rid-1");
}

TEST(Router, WriteStepsFailAndSucceedLikeHandlers) {
  Router r;
  r.add({.method = Method::post, .path = "/w", .body = Body::json,
         .handler = [](Request&) { return http::json_response(200, {{"path", "handler"}}); },
         .write = [](Request& q) {
           if (q.json.as_object().contains("refuse")) throw common::Error("validation_error", "refused");
           return http::WriteStep{.transaction = [](db::Connection&) {},
                                  .respond = [] { return http::json_response(201, {{"path", "step"}}); }};
         }});
  http::Params params;
  const auto& route = *r.match(Method::post, "/w", params).route;

  Request bad;  // body decoding comes first, as for handlers
  bad.content_type = "application/json";
  bad.body = "[";
  auto refused_body = std::get<Response>(r.prepare_write(route, bad));
  EXPECT_EQ(body_of(refused_body).at("code"), "malformed_json");

  Request refuse;
  refuse.content_type = "application/json";
  refuse.body = R"({"refuse": true})";
  EXPECT_EQ(std::get<Response>(r.prepare_write(route, refuse)).status, 400);

  Request fine;
  fine.content_type = "application/json";
  fine.body = "{}";
  auto prepared = r.prepare_write(route, fine);
  auto& step = std::get<http::WriteStep>(prepared);
  EXPECT_EQ(r.finish_write(route, fine, step, nullptr).status, 201);
  auto failed = std::make_exception_ptr(common::Error("insufficient_stock", "gone"));
  EXPECT_EQ(body_of(r.finish_write(route, fine, step, failed)).at("code"), "insufficient_stock");
  auto broken = std::make_exception_ptr(std::runtime_error("disk on fire"));
  EXPECT_EQ(r.finish_write(route, fine, step, broken).status, 500);
}

TEST(ResponseCache, ServesOnlyTheSameQueryAtTheSameGenerationWhileYoung) {
  http::ResponseCache cache(2, std::chrono::seconds(60));
  Request a;
  a.base_url = "http://h";
  a.path = "/store/products/";
  a.query = {{"x", "1\ny=2"}};
  Request b = a;
  b.query = {{"x", "1"}, {"y", "2"}};
  EXPECT_NE(http::ResponseCache::key(a), http::ResponseCache::key(b));
  Request other_host = a;
  other_host.base_url = "http://other";
  EXPECT_NE(http::ResponseCache::key(a), http::ResponseCache::key(other_host));

  int made = 0;
  auto make = [&made] { return http::json_response(200, {{"n", ++made}}); };
  auto serve = [&](http::ResponseCache& c, const std::string& key, std::uint64_t generation) {
    return body_of(c.serve(key, generation, make)).at("n").as_int64();
  };
  auto ka = http::ResponseCache::key(a);
  EXPECT_EQ(serve(cache, ka, 7), 1);
  EXPECT_EQ(serve(cache, ka, 7), 1);  // kept
  EXPECT_EQ(serve(cache, http::ResponseCache::key(b), 7), 2);
  EXPECT_EQ(serve(cache, ka, 8), 3);  // a write committed since
  EXPECT_EQ(serve(cache, ka, 8), 3);

  http::ResponseCache expired(2, std::chrono::milliseconds(-1));
  EXPECT_EQ(serve(expired, "k", 1), 4);
  EXPECT_EQ(serve(expired, "k", 1), 5);

  for (int i = 0; i < 10; ++i) serve(cache, "k" + std::to_string(i), 1);
  EXPECT_EQ(serve(cache, "k9", 1), 15);  // full: started over rather than grown
  EXPECT_EQ(serve(cache, "k0", 1), 16);

  // What making threw is not kept.
  EXPECT_THROW(cache.serve("bad", 1, []() -> http::Response { throw std::runtime_error("down"); }),
               std::runtime_error);
  EXPECT_EQ(serve(cache, "bad", 1), 17);
}

// Requests that arrive while a page is being made for their generation wait for it: one read, not
// one per request (a request that comes after it is made finds it kept: also no read).
TEST(ResponseCache, MakesAPageOncePerGenerationForConcurrentRequests) {
  http::ResponseCache cache(8, std::chrono::seconds(60));
  std::promise<void> making;
  std::promise<void> release;
  std::atomic<int> made{0};
  auto slow = [&] {
    if (made.fetch_add(1) == 0) {
      making.set_value();
      release.get_future().wait();
    }
    return http::json_response(200, {{"made", made.load()}});
  };
  auto first = std::async(std::launch::async, [&] { return cache.serve("k", 1, slow); });
  making.get_future().wait();
  std::vector<std::future<http::Response>> waiting;
  for (int i = 0; i < 8; ++i) {
    waiting.push_back(std::async(std::launch::async, [&] { return cache.serve("k", 1, slow); }));
  }
  release.set_value();
  EXPECT_EQ(body_of(first.get()).at("made"), 1);
  for (auto& w : waiting) EXPECT_EQ(body_of(w.get()).at("made"), 1);
  EXPECT_EQ(made.load(), 1);
}

// A request at a newer generation does not wait for an older page being made: it reads its own.
TEST(ResponseCache, ANewerGenerationDoesNotWaitForAnOlderPage) {
  http::ResponseCache cache(8, std::chrono::seconds(60));
  std::promise<void> making;
  std::promise<void> release;
  auto older = std::async(std::launch::async, [&] {
    return cache.serve("k", 1, [&] {
      making.set_value();
      release.get_future().wait();
      return http::json_response(200, {{"generation", 1}});
    });
  });
  making.get_future().wait();
  auto newer = cache.serve("k", 2, [] { return http::json_response(200, {{"generation", 2}}); });
  EXPECT_EQ(body_of(newer).at("generation"), 2);
  release.set_value();
  EXPECT_EQ(body_of(older.get()).at("generation"), 1);
  // The older page, made last, did not replace the newer one.
  EXPECT_EQ(body_of(cache.serve("k", 2, [] { return http::json_response(200, {{"generation", 0}}); }))
                .at("generation"),
            2);
}

TEST(Errors, CodesMapToTheContractsStatuses) {
  EXPECT_EQ(common::status_for("malformed_json"), 400);
  EXPECT_EQ(common::status_for("insufficient_stock"), 400);
  EXPECT_EQ(common::status_for("token_expired"), 401);
  EXPECT_EQ(common::status_for("card_declined"), 402);
  EXPECT_EQ(common::status_for("forbidden"), 403);
  EXPECT_EQ(common::status_for("not_found"), 404);
  EXPECT_EQ(common::status_for("idempotency_conflict"), 409);
  EXPECT_EQ(common::status_for("cannot_change_own_account"), 409);  // the staff console's users
  EXPECT_EQ(common::status_for("email_not_renderable"), 409);
  EXPECT_EQ(common::status_for("payload_too_large"), 413);
  EXPECT_EQ(common::status_for("unsupported_media_type"), 415);
  EXPECT_EQ(common::status_for("too_many_requests"), 429);
  EXPECT_EQ(common::status_for("payment_gateway_unavailable"), 503);
  EXPECT_EQ(common::status_for("no_such_code"), 500);
}

TEST(Errors, FieldErrorsCollectMessagesPerField) {
  common::FieldErrors errors;
  EXPECT_NO_THROW(errors.raise_if_any());
  errors.add("email", "Enter a valid email address.");
  errors.add("email", "This field is required.");
  errors.add("password", "This password is too short.");
  try {
    errors.raise_if_any();
    FAIL();
  } catch (const common::Error& e) {
    EXPECT_EQ(e.code(), "validation_error");
    EXPECT_EQ(e.details().at("email").as_array().size(), 2u);
    EXPECT_EQ(e.details().at("password").as_array().size(), 1u);
  }
}

namespace {

struct Counter {
  int calls = 0;
};

Response count_call(Counter& counter, const std::string& label, Request& q) {
  ++counter.calls;
  return http::json_response(200, {{"label", label}, {"path", q.path}});
}

bool always_scans(const Request&) { return true; }

}  // namespace

TEST(RouteTable, OneLineEntriesSetEveryFieldOfTheRoute) {
  Counter counter;
  Router r;
  r.add(http::get("/a/", Access::user, http::handle(count_call, counter, std::string("held"))));
  r.add(http::post("/a/", Access::staff, http::handle(count_call, counter, std::string("json")))
            .json()
            .runs(http::Runs::local_read)
            .scans(always_scans)
            .write([](Request&) { return http::WriteStep{}; }));
  r.add(http::put("/b/", Access::anyone, http::handle(count_call, counter, std::string("put"))));
  r.add(http::patch("/b/", Access::anyone, http::handle(count_call, counter, std::string("patch"))));
  r.add(http::del("/b/", Access::anyone, http::handle(count_call, counter, std::string("del"))));

  const auto& routes = r.routes();
  ASSERT_EQ(routes.size(), 5u);
  EXPECT_EQ(routes[0].method, Method::get);
  EXPECT_EQ(routes[0].access, Access::user);
  EXPECT_EQ(routes[0].body, Body::none);
  EXPECT_EQ(routes[0].runs, http::Runs::handler_pool);
  EXPECT_EQ(routes[0].scans, nullptr);
  EXPECT_FALSE(routes[0].write);
  EXPECT_EQ(routes[1].method, Method::post);
  EXPECT_EQ(routes[1].access, Access::staff);
  EXPECT_EQ(routes[1].body, Body::json);
  EXPECT_EQ(routes[1].runs, http::Runs::local_read);
  EXPECT_EQ(routes[1].scans, &always_scans);
  EXPECT_TRUE(routes[1].write);
  EXPECT_EQ(routes[2].method, Method::put);
  EXPECT_EQ(routes[3].method, Method::patch);
  EXPECT_EQ(routes[4].method, Method::del);

  // handle() holds an lvalue by reference (the counter) and owns an rvalue (the label).
  Request q;
  q.path = "/b/";
  auto body = body_of(routes[2].handler(q));
  EXPECT_EQ(body.at("label").as_string(), "put");
  EXPECT_EQ(body.at("path").as_string(), "/b/");
  routes[3].handler(q);
  EXPECT_EQ(counter.calls, 2);
}

TEST(BearerToken, TheTokenOfABearerHeaderInAnyCase) {
  Request q;
  EXPECT_FALSE(http::bearer_token(q));
  q.authorization = "Bearer abc";
  EXPECT_EQ(http::bearer_token(q), "abc");
  q.authorization = "bEARER xyz";
  EXPECT_EQ(http::bearer_token(q), "xyz");
  q.authorization = "Bearer ";
  EXPECT_FALSE(http::bearer_token(q));
  q.authorization = "Basic abc";
  EXPECT_FALSE(http::bearer_token(q));
}
