// Webhooks' pure parts: Standard Webhooks signatures (the specification's own example), secrets, the
// address rule that keeps webhooks off private networks, and the URL's form.
#include "app/config.hpp"
#include "db/database.hpp"
#include "db/migrate.hpp"
#include "webhooks/address.hpp"
#include "webhooks/repo.hpp"
#include "webhooks/signing.hpp"
#include "webhooks/worker.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <vector>
#include <unistd.h>

namespace {

TEST(WebhookSigning, MatchesTheStandardWebhooksExample) {
  EXPECT_EQ(webhooks::sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                           R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSigning, DuringARotationBothSecretsSign) {
  auto header = webhooks::signature_header("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", std::string("whsec_AAAAAAAA"), "id",
                                           1, "{}");
  EXPECT_EQ(header, webhooks::sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "{}") + " " +
                        webhooks::sign("whsec_AAAAAAAA", "id", 1, "{}"));
  EXPECT_THROW(webhooks::sign("whsec_not base64!", "id", 1, "{}"), std::invalid_argument);
}

TEST(WebhookSigning, SecretsAre24RandomBytes) {
  auto a = webhooks::new_secret(), b = webhooks::new_secret();
  EXPECT_TRUE(a.starts_with("whsec_"));
  EXPECT_EQ(a.size(), 6u + 32u);  // base64 of 24 bytes
  EXPECT_NE(a, b);
}

TEST(WebhookAddress, OnlyPublicAddressesArePublic) {
  for (const char* refused : {"127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "0.0.0.0",
                              "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "::ffff:127.0.0.1",
                              "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "fd00::1", "fc00::1", "fe80::1", "ff02::1",
                              "2001:db8::1", "not an address",
                              // SIIT, 6to4 of loopback, metadata and private, local-use NAT64, Teredo,
                              // discard-only, ORCHIDv2, the newer documentation block, SRv6 (a security audit)
                              "::ffff:0:7f00:1", "2002:7f00:1::", "2002:a9fe:a9fe::", "2002:a00:1::",
                              "64:ff9b:1::7f00:1", "2001::1", "100::1", "2001:20::1", "3fff::1", "5f00::1"}) {
    EXPECT_FALSE(webhooks::is_public_address(refused)) << refused;
  }
  for (const char* allowed : {"93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8",
                              "2002:808:808::1", "2001:4860:4860::8888", "2a00:1450:4001::1"}) {
    EXPECT_TRUE(webhooks::is_public_address(allowed)) << allowed;
  }
}

TEST(WebhookAddress, UrlsMustBeHttpWithAHost) {
  std::string problem;
  auto target = webhooks::parse_target("https://erp.example.com/hooks?x=1", problem);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->host, "erp.example.com");
  EXPECT_EQ(target->port, "443");
  target = webhooks::parse_target("http://[::1]:8080/", problem);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->host, "::1");
  EXPECT_EQ(target->port, "8080");
  for (const char* bad : {"ftp://example.com/", "example.com/hooks", "http:///path", "http://u:p@example.com/",
                          "https://example.com/#frag", "http://example.com:0/"}) {
    problem.clear();
    EXPECT_FALSE(webhooks::parse_target(bad, problem)) << bad;
    EXPECT_FALSE(problem.empty()) << bad;
  }
  EXPECT_TRUE(webhooks::refused_target({"http", "127.0.0.1", "80"}, false));
  EXPECT_FALSE(webhooks::refused_target({"http", "127.0.0.1", "80"}, true));
}

TEST(WebhookMessages, BodyAndIdAreStable) {
  EXPECT_EQ(webhooks::message_body("order.paid", 0, R"({"id":1})"),
            R"({"type":"order.paid","timestamp":"1970-01-01T00:00:00.000000Z","data":{"id":1}})");
  EXPECT_EQ(webhooks::message_id(7, 123), "evt_123_7");
}

TEST(WebhookSchedule, ParsesTheSetting) {
  auto schedule = app::parse_duration_list("5s, 5m,30m");
  ASSERT_EQ(schedule.size(), 3u);
  EXPECT_EQ(schedule[1], std::chrono::minutes(5));
  EXPECT_THROW(app::parse_duration_list("5s,,5m"), std::invalid_argument);
  EXPECT_THROW(app::parse_duration_list("soon"), std::invalid_argument);
}

// SQLite sends new events straight from the log (migrations 016 and 017): a lease on the events after
// the cursor, then their deliveries' rows written with the cursor's move. The purge never takes an
// event the cursor has not passed, nor the one it stands on (whose id a new event would otherwise
// take, and be skipped).
class WebhookLog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("orderd-webhooks-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    database_ = db::open("sqlite://" + (dir_ / "test.db").string());
    db::migrate(*database_);
  }
  void TearDown() override {
    database_.reset();
    std::filesystem::remove_all(dir_);
  }
  template <class F>
  auto write(F&& body) {
    return database_->transaction([&](db::Connection& c) { return body(c); });
  }
  std::int64_t count(std::string_view sql) {
    return write([&](db::Connection& c) { return c.query(sql)[0].integer(0); });
  }
  void subscribe(std::string_view events) {
    write([&](db::Connection& c) {
      webhooks::repo::Endpoint e;
      e.url = "http://127.0.0.1:9/";
      e.events = std::string(events);
      e.secret = "whsec_x";
      return webhooks::repo::insert_endpoint(c, e, 1);
    });
  }
  void publish(std::string_view type, std::int64_t at) {
    write([&](db::Connection& c) { webhooks::repo::write_event(c, type, "{}", at, [] {}); });
  }
  std::optional<webhooks::repo::NewEvents> lease(std::int64_t now, int limit = 500) {
    return write([&](db::Connection& c) { return webhooks::repo::lease_new_events(c, now, now + 100, limit); });
  }
  std::vector<webhooks::repo::Claimed> deliveries(const webhooks::repo::NewEvents& leased) {
    return database_->read([&](db::Connection& c) { return webhooks::repo::new_deliveries(c, leased); });
  }
  // What the worker does after sending: each delivery's row (here all succeeded) and the cursor's move.
  bool record(const webhooks::repo::NewEvents& leased) {
    auto sent = deliveries(leased);
    return write([&](db::Connection& c) {
      if (!webhooks::repo::pass_new_events(c, leased)) return false;
      webhooks::repo::Outcome ok;
      ok.at = 500, ok.status_code = 204;
      for (const auto& d : sent) {
        webhooks::repo::insert_new(c, d, "succeeded", ok.at, ok, [](bool inserted) { EXPECT_TRUE(inserted); });
      }
      return true;
    });
  }
  std::filesystem::path dir_;
  std::unique_ptr<db::Database> database_;
};

TEST_F(WebhookLog, NewEventsAreLeasedOnceAndEachDeliveryIsWrittenOnceWithItsOutcome) {
  subscribe(",order.paid,");
  subscribe(",order.paid,order.placed,");
  publish("order.placed", 10);
  publish("order.paid", 11);
  publish("order.paid", 12);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries"), 0);  // the sales wrote their events only
  auto stats = write([](db::Connection& c) { return webhooks::repo::queue_stats(c); });
  EXPECT_EQ(stats.depth, 3);  // each event not sent yet counts once
  EXPECT_EQ(stats.oldest_created_at, 10);
  auto first = lease(100, 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->through - first->after, 2);
  EXPECT_FALSE(lease(150));  // leased: no other worker sends them, nor the event after them, meanwhile
  auto sent = deliveries(*first);
  ASSERT_EQ(sent.size(), 3u);  // placed to one endpoint, paid to two
  EXPECT_EQ(sent[0].attempts, 1);
  EXPECT_EQ(sent[0].id, 0);  // no row yet
  ASSERT_TRUE(record(*first));
  auto second = lease(160, 2);  // the cursor moved and the lease ended: the next event is free
  ASSERT_TRUE(second);
  EXPECT_EQ(second->after, first->through);
  ASSERT_TRUE(record(*second));
  EXPECT_FALSE(lease(170));  // nothing left
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded' AND attempts = 1"
                  " AND last_status_code = 204"), 5);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT event_id || '-' || endpoint_id) FROM webhook_deliveries"), 5);
  EXPECT_EQ(count("SELECT MIN(created_at) FROM webhook_deliveries"), 10);  // the event's time
  EXPECT_EQ(write([](db::Connection& c) { return webhooks::repo::queue_stats(c); }).depth, 0);
}

TEST_F(WebhookLog, ALeaseThatRanOutIsTakenOverAndTheLateWorkerWritesNothing) {
  subscribe(",order.paid,");
  publish("order.paid", 10);
  auto slow = lease(100);  // until 200
  ASSERT_TRUE(slow);
  EXPECT_FALSE(lease(199));
  auto other = lease(200);  // ran out: another worker (or this one, restarted) sends the events again
  ASSERT_TRUE(other);
  EXPECT_EQ(other->after, slow->after);
  EXPECT_FALSE(record(*slow));  // the slow worker's lease is not its own any more
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries"), 0);
  EXPECT_TRUE(record(*other));
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries"), 1);
}

TEST_F(WebhookLog, ThePurgeKeepsWhatTheCursorHasNotPassedAndTheEventItStandsOn) {
  subscribe(",order.paid,");
  publish("order.placed", 10);  // nobody subscribes: finished as soon as the cursor passes it
  publish("order.placed", 11);
  EXPECT_EQ(write([](db::Connection& c) { return webhooks::repo::purge(c, 1'000, 500); }), 0);  // not sent
  ASSERT_TRUE(record(*lease(100)));
  EXPECT_EQ(write([](db::Connection& c) { return webhooks::repo::purge(c, 1'000, 500); }), 1);
  EXPECT_EQ(count("SELECT MAX(id) FROM webhook_events"), 2);  // kept: the cursor stands on it
  publish("order.paid", 20);
  EXPECT_EQ(count("SELECT MAX(id) FROM webhook_events"), 3);  // so a new event's id is past the cursor ...
  auto next = lease(200);
  ASSERT_TRUE(next);
  ASSERT_EQ(deliveries(*next).size(), 1u);  // ... and is delivered
  EXPECT_EQ(deliveries(*next)[0].event_id, 3);
}

}  // namespace

