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
                              "2001:db8::1", "not an address"}) {
    EXPECT_FALSE(webhooks::is_public_address(refused)) << refused;
  }
  for (const char* allowed : {"93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"}) {
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

// SQLite's fan-out (migration 016): the worker turns the events after its cursor into deliveries, and
// the purge never takes an event the cursor has not passed, nor the one it stands on (whose id a new
// event would otherwise take, and be skipped).
class WebhookFanOut : public ::testing::Test {
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
      webhooks::repo::Endpoint e{.url = "http://127.0.0.1:9/", .events = std::string(events), .secret = "whsec_x"};
      return webhooks::repo::insert_endpoint(c, e, 1);
    });
  }
  void publish(std::string_view type, std::int64_t at) {
    write([&](db::Connection& c) { return webhooks::repo::write_event(c, type, "{}", at); });
  }
  std::int64_t fan_out(int limit = 500) {
    return write([&](db::Connection& c) { return webhooks::repo::fan_out_pending(c, 100, limit); });
  }
  std::filesystem::path dir_;
  std::unique_ptr<db::Database> database_;
};

TEST_F(WebhookFanOut, EventsAfterTheCursorBecomeDeliveriesOnceEach) {
  subscribe(",order.paid,");
  subscribe(",order.paid,order.placed,");
  publish("order.placed", 10);
  publish("order.paid", 11);
  publish("order.paid", 12);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries"), 0);  // the sales wrote their events only
  auto stats = write([](db::Connection& c) { return webhooks::repo::queue_stats(c); });
  EXPECT_EQ(stats.depth, 3);  // each event not fanned out counts once
  EXPECT_EQ(stats.oldest_created_at, 10);
  EXPECT_EQ(fan_out(2), 2);  // a full batch: more may wait
  EXPECT_EQ(fan_out(2), 1);
  EXPECT_EQ(fan_out(2), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries"), 5);  // placed to one endpoint, paid to two, twice
  EXPECT_EQ(count("SELECT COUNT(DISTINCT event_id || '-' || endpoint_id) FROM webhook_deliveries"), 5);
  EXPECT_EQ(count("SELECT MIN(created_at) FROM webhook_deliveries"), 10);  // the event's time, not the fan-out's
}

TEST_F(WebhookFanOut, ThePurgeKeepsWhatTheCursorHasNotPassedAndTheEventItStandsOn) {
  subscribe(",order.paid,");
  publish("order.placed", 10);  // nobody subscribes: finished as soon as it is fanned out
  publish("order.placed", 11);
  EXPECT_EQ(write([](db::Connection& c) { return webhooks::repo::purge(c, 1'000, 500); }), 0);  // not fanned out
  fan_out();
  EXPECT_EQ(write([](db::Connection& c) { return webhooks::repo::purge(c, 1'000, 500); }), 1);
  EXPECT_EQ(count("SELECT MAX(id) FROM webhook_events"), 2);  // kept: the cursor stands on it
  publish("order.paid", 20);
  EXPECT_EQ(count("SELECT MAX(id) FROM webhook_events"), 3);  // so a new event's id is past the cursor ...
  EXPECT_EQ(fan_out(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_deliveries WHERE event_id = 3"), 1);  // ... and is delivered
}

}  // namespace

