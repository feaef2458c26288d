// Webhooks' pure parts: Standard Webhooks signatures (the specification's own example), secrets, the
// address rule that keeps webhooks off private networks, and the URL's form.
#include "app/config.hpp"
#include "webhooks/address.hpp"
#include "webhooks/signing.hpp"
#include "webhooks/worker.hpp"

#include <gtest/gtest.h>

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

}  // namespace
