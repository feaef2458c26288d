// The payment gateway layer: card parsing, the mock's rules and memory, the HTTP client against the
// mock-gateway routes served in-process by orderd's own http::Server, and a gateway that is down.

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "payments/gateway.hpp"
#include "payments/http_gateway.hpp"
#include "payments/mock_gateway.hpp"
#include "payments/mock_rules.hpp"
#include "payments/mock_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using payments::Card;
using payments::ChargeRequest;
using payments::LookupStatus;
using payments::Outcome;

namespace {

constexpr auto kThisMonth = std::chrono::year{2025} / std::chrono::month{6};

Card card(std::string number, int month = 12, int year = 2030, std::string cvc = "123") {
  return Card{std::move(number), month, year, std::move(cvc)};
}

ChargeRequest charge(std::string key, std::string number, std::int64_t amount = 13000) {
  ChargeRequest r;
  r.idempotency_key = std::move(key);
  r.amount_minor = amount;
  r.card = card(std::move(number));
  r.description = "order 1";
  return r;
}

payments::MockGateway mock(std::size_t remembered = 100'000) {
  return payments::MockGateway({.latency = 0ms, .remembered_keys = remembered, .today = [] { return kThisMonth; }});
}

}  // namespace

// --- parse_card -------------------------------------------------------------------------------

TEST(ParseCard, AcceptsSpacesAndDashesInTheNumber) {
  common::FieldErrors errors;
  auto parsed = payments::parse_card("4242 4242-4242 4242", "07/29", "123", errors);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(parsed->number, "4242424242424242");
  EXPECT_EQ(parsed->exp_month, 7);
  EXPECT_EQ(parsed->exp_year, 2029);
  EXPECT_EQ(parsed->cvc, "123");
}

TEST(ParseCard, NumberMustBe12To19Digits) {
  for (std::string_view bad : {"", "42424242424", "42424242424242424242", "4242a24242424242", "4242.4242.4242"}) {
    common::FieldErrors errors;
    EXPECT_FALSE(payments::parse_card(bad, "12/30", "123", errors)) << bad;
    EXPECT_FALSE(errors.empty());
  }
  common::FieldErrors errors;
  EXPECT_TRUE(payments::parse_card("424242424242", "12/30", "123", errors));          // 12
  EXPECT_TRUE(payments::parse_card("4242424242424242424", "12/30", "1234", errors));  // 19
}

TEST(ParseCard, ExpiryMustBeMMSlashYYWithARealMonth) {
  for (std::string_view bad : {"", "1/30", "12/2030", "12-30", "00/30", "13/30", "ab/cd", "12/3x"}) {
    common::FieldErrors errors;
    EXPECT_FALSE(payments::parse_card("4242424242424242", bad, "123", errors)) << bad;
  }
  common::FieldErrors errors;
  EXPECT_TRUE(payments::parse_card("4242424242424242", "01/20", "123", errors));  // past: the gateway's call
}

TEST(ParseCard, CvvMustBe3Or4Digits) {
  for (std::string_view bad : {"", "12", "12345", "12a"}) {
    common::FieldErrors errors;
    EXPECT_FALSE(payments::parse_card("4242424242424242", "12/30", bad, errors)) << bad;
  }
}

TEST(ParseCard, ReportsEveryFieldUnderTheContractNames) {
  common::FieldErrors errors;
  EXPECT_FALSE(payments::parse_card("9876x", "99/99", "1", errors));
  try {
    errors.raise_if_any();
    FAIL() << "expected a validation_error";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.code(), "validation_error");
    EXPECT_TRUE(e.details().contains("card_number"));
    EXPECT_TRUE(e.details().contains("expiry_date"));
    EXPECT_TRUE(e.details().contains("cvv"));
    EXPECT_EQ(std::string(e.what()).find("9876"), std::string::npos) << "the message must not echo card data";
  }
}

TEST(Cards, Luhn) {
  EXPECT_TRUE(payments::luhn_valid("4242424242424242"));
  EXPECT_TRUE(payments::luhn_valid("378282246310005"));
  EXPECT_TRUE(payments::luhn_valid("6011111111111117"));
  EXPECT_FALSE(payments::luhn_valid("4242424242424241"));
  EXPECT_FALSE(payments::luhn_valid("1234567812345678"));
  EXPECT_FALSE(payments::luhn_valid(""));
}

TEST(Cards, Brands) {
  EXPECT_EQ(payments::card_brand("4242424242424242"), "visa");
  EXPECT_EQ(payments::card_brand("5555555555554444"), "mastercard");
  EXPECT_EQ(payments::card_brand("2223003122003222"), "mastercard");
  EXPECT_EQ(payments::card_brand("378282246310005"), "amex");
  EXPECT_EQ(payments::card_brand("340000000000009"), "amex");
  EXPECT_EQ(payments::card_brand("6011111111111117"), "discover");
  EXPECT_EQ(payments::card_brand("6500000000000002"), "discover");
  EXPECT_EQ(payments::card_brand("3566002020360505"), "unknown");
  EXPECT_EQ(payments::card_brand(""), "unknown");
}

TEST(Cards, LastFour) {
  EXPECT_EQ(payments::last4("4242424242424242"), "4242");
  EXPECT_EQ(payments::last4("123"), "123");
}

TEST(Cards, IdempotencyKeys) {
  EXPECT_TRUE(payments::valid_idempotency_key("a"));
  EXPECT_TRUE(payments::valid_idempotency_key(std::string(255, 'k')));
  EXPECT_FALSE(payments::valid_idempotency_key(""));
  EXPECT_FALSE(payments::valid_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(payments::valid_idempotency_key("tab\tkey"));
  EXPECT_FALSE(payments::valid_idempotency_key("caf\xc3\xa9"));
}

// --- the mock's rules and memory ---------------------------------------------------------------

struct TestCardCase {
  const char* number;
  Outcome outcome;
  const char* code;
};

void PrintTo(const TestCardCase& c, std::ostream* out) { *out << c.number; }

class MockTestCards : public ::testing::TestWithParam<TestCardCase> {};

TEST_P(MockTestCards, AnswerAsStripeDocuments) {
  auto gateway = mock();
  auto result = gateway.charge(charge("k", GetParam().number));
  EXPECT_EQ(result.outcome, GetParam().outcome);
  EXPECT_EQ(result.decline_code, GetParam().code);
  EXPECT_FALSE(result.message.empty());
  EXPECT_EQ(result.message.find(GetParam().number), std::string::npos);
  if (result.outcome == Outcome::error) {
    EXPECT_TRUE(result.reference.empty());
  } else {
    EXPECT_TRUE(result.reference.starts_with("ch_")) << result.reference;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cards, MockTestCards,
    ::testing::Values(TestCardCase{"4242424242424242", Outcome::approved, ""},
                      TestCardCase{"5555555555554444", Outcome::approved, ""},  // any other Luhn-valid number
                      TestCardCase{"4000000000000002", Outcome::declined, "card_declined"},
                      TestCardCase{"4000000000009995", Outcome::declined, "insufficient_funds"},
                      TestCardCase{"4000000000000069", Outcome::declined, "expired_card"},
                      TestCardCase{"4000000000000127", Outcome::declined, "incorrect_cvc"},
                      TestCardCase{"4000000000000119", Outcome::error, "processing_error"},
                      TestCardCase{"4242424242424241", Outcome::declined, "incorrect_number"}),
    [](const ::testing::TestParamInfo<TestCardCase>& info) {
      return std::string(info.param.number) + "_" + std::string(payments::to_string(info.param.outcome));
    });

TEST(MockGateway, ExpiryBeforeThisMonthIsExpiredCard) {
  auto gateway = mock();
  auto past = charge("past", "4242424242424242");
  past.card.exp_month = 5;
  past.card.exp_year = 2025;
  EXPECT_EQ(gateway.charge(past).decline_code, "expired_card");
  auto this_month = charge("now", "4242424242424242");
  this_month.card.exp_month = 6;
  this_month.card.exp_year = 2025;
  EXPECT_EQ(gateway.charge(this_month).outcome, Outcome::approved);
}

TEST(MockGateway, ReplayingAKeyReturnsTheFirstAnswer) {
  auto gateway = mock();
  auto first = gateway.charge(charge("order-1-attempt-1", "4242424242424242"));
  auto again = gateway.charge(charge("order-1-attempt-1", "4242424242424242"));
  EXPECT_EQ(again.outcome, Outcome::approved);
  EXPECT_EQ(again.reference, first.reference);
  auto lookup = gateway.lookup("order-1-attempt-1");
  EXPECT_EQ(lookup.status, LookupStatus::approved);
  EXPECT_EQ(lookup.reference, first.reference);

  auto declined = gateway.charge(charge("d", "4000000000000002"));
  EXPECT_EQ(gateway.charge(charge("d", "4000000000000002")).reference, declined.reference);
  EXPECT_EQ(gateway.lookup("d").status, LookupStatus::declined);
  EXPECT_EQ(gateway.lookup("d").decline_code, "card_declined");
}

TEST(MockGateway, AKeyReusedForAnotherChargeIsAConflict) {
  auto gateway = mock();
  auto first = gateway.charge(charge("k", "4242424242424242", 13000));
  auto other_amount = gateway.charge(charge("k", "4242424242424242", 13001));
  EXPECT_EQ(other_amount.outcome, Outcome::error);
  EXPECT_EQ(other_amount.decline_code, "idempotency_conflict");
  auto other_card = gateway.charge(charge("k", "5555555555554444", 13000));
  EXPECT_EQ(other_card.decline_code, "idempotency_conflict");
  EXPECT_EQ(gateway.lookup("k").reference, first.reference);  // the first charge stands
}

TEST(MockGateway, ProcessingErrorsAreNotRemembered) {
  auto gateway = mock();
  EXPECT_EQ(gateway.charge(charge("p", "4000000000000119")).outcome, Outcome::error);
  EXPECT_EQ(gateway.lookup("p").status, LookupStatus::not_found);
  EXPECT_EQ(gateway.lookup("never").status, LookupStatus::not_found);
}

TEST(MockGateway, RejectsMissingKeysAndAmounts) {
  auto gateway = mock();
  EXPECT_EQ(gateway.charge(charge("", "4242424242424242")).outcome, Outcome::error);
  EXPECT_EQ(gateway.charge(charge("z", "4242424242424242", 0)).outcome, Outcome::error);
}

TEST(MockGateway, ForgetsTheOldestKeysBeyondItsBound) {
  auto gateway = mock(2);
  gateway.charge(charge("a", "4242424242424242"));
  gateway.charge(charge("b", "4242424242424242"));
  gateway.charge(charge("c", "4242424242424242"));
  EXPECT_EQ(gateway.lookup("a").status, LookupStatus::not_found);
  EXPECT_EQ(gateway.lookup("c").status, LookupStatus::approved);
}

TEST(MockGateway, ConcurrentChargesUnderOneKeyChargeOnce) {
  auto gateway = mock();
  std::vector<std::string> references(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < references.size(); ++i) {
    threads.emplace_back([&, i] { references[i] = gateway.charge(charge("same", "4242424242424242")).reference; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(references.begin(), references.end()).size(), 1u);
}

TEST(MockGateway, LatencyIsAddedToCharges) {
  payments::MockGateway gateway({.latency = 50ms, .remembered_keys = 10, .today = [] { return kThisMonth; }});
  auto started = std::chrono::steady_clock::now();
  gateway.charge(charge("slow", "4242424242424242"));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
}

// --- make_gateway and metrics ------------------------------------------------------------------

TEST(MakeGateway, ChoosesBySetting) {
  EXPECT_NE(payments::make_gateway("mock", 1s), nullptr);
  EXPECT_NE(payments::make_gateway("http://127.0.0.1:9", 1s), nullptr);
  EXPECT_NE(payments::make_gateway("http://gateway.internal/prefix/", 1s), nullptr);
  for (const char* bad : {"", "Mock", "https://pay.example.com", "ftp://x", "http://", "127.0.0.1:9",
                          "http://u:secret@host:1", "http://host:1/?q=1", "http://host:0", "http://host:65536",
                          "http://host:/"}) {
    EXPECT_THROW(payments::make_gateway(bad, 1s), std::invalid_argument) << bad;
  }
  try {
    payments::make_gateway("https://u:secret@host", 1s);
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
  }
}

TEST(MakeGateway, TimesEveryCallIntoAHistogram) {
  common::Metrics metrics;
  auto gateway = payments::make_gateway("mock", 1s, &metrics);
  gateway->charge(charge("m", "4242424242424242"));
  gateway->lookup("m");
  auto text = metrics.render();
  EXPECT_NE(text.find("# TYPE orderd_gateway_request_duration_seconds histogram"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(orderd_gateway_request_duration_seconds_count{gateway="mock",operation="charge",outcome="approved"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(orderd_gateway_request_duration_seconds_bucket{gateway="mock",operation="lookup",outcome="approved",le="+Inf"} 1)"),
            std::string::npos)
      << text;
}

TEST(Metrics, HistogramRendersCumulativeBuckets) {
  common::Metrics metrics;
  constexpr std::array bounds{0.1, 1.0};
  auto& h = metrics.histogram("t_seconds", "A test.", R"(kind="x")", bounds);
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(&metrics.histogram("t_seconds", "A test.", R"(kind="x")"), &h);
  auto text = metrics.render();
  EXPECT_NE(text.find("t_seconds_bucket{kind=\"x\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{kind=\"x\",le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{kind=\"x\",le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_count{kind=\"x\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_sum{kind=\"x\"} 7.65\n"), std::string::npos) << text;

  metrics.histogram("plain_seconds", "No labels.").observe(0.001);
  EXPECT_NE(metrics.render().find("plain_seconds_count 1\n"), std::string::npos);
}

// --- HttpGateway against the mock-gateway routes, served in-process ------------------------------

namespace {

// The routes `orderd mock-gateway` serves, on orderd's own server, on a free loopback port.
class MockGatewayServer {
 public:
  explicit MockGatewayServer(std::chrono::milliseconds latency = 0ms, std::string mount = "",
                             payments::MockFaults faults = {}, payments::MockFaults refund_faults = {})
      : gateway_({.latency = latency, .remembered_keys = 1000, .today = [] { return kThisMonth; }}) {
    payments::register_mock_gateway_routes(router_, gateway_, faults, refund_faults);
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.handler_threads = 2;
    options.shutdown_timeout = 5s;
    server_ = std::make_unique<http::Server>(options, router_, metrics_);
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(); });
    url_ = "http://127.0.0.1:" + std::to_string(port_) + mount;
  }
  ~MockGatewayServer() {
    server_->stop();
    thread_.join();
  }
  const std::string& url() const { return url_; }
  payments::MockGateway& gateway() { return gateway_; }

 private:
  payments::MockGateway gateway_;
  http::Router router_;
  common::Metrics metrics_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string url_;
};

// A loopback port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A port that accepts connections (the kernel's backlog) but never answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 16);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

template <class F>
std::chrono::milliseconds time_of(F&& f) {
  auto started = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
}

}  // namespace

TEST(HttpGateway, ApprovesAndReplaysByKey) {
  MockGatewayServer server;
  payments::HttpGateway gateway(server.url(), 5s);
  auto first = gateway.charge(charge("http-1", "4242424242424242"));
  ASSERT_EQ(first.outcome, Outcome::approved) << first.message;
  EXPECT_TRUE(first.reference.starts_with("ch_"));
  EXPECT_EQ(gateway.charge(charge("http-1", "4242424242424242")).reference, first.reference);
  auto found = gateway.lookup("http-1");
  EXPECT_EQ(found.status, LookupStatus::approved);
  EXPECT_EQ(found.reference, first.reference);
  ASSERT_TRUE(server.gateway().find("http-1"));
  EXPECT_EQ(server.gateway().find("http-1")->amount_minor, 13000);
}

TEST(HttpGateway, DeclinesCarryTheGatewaysCode) {
  MockGatewayServer server;
  payments::HttpGateway gateway(server.url(), 5s);
  for (auto [number, code] : {std::pair{"4000000000000002", "card_declined"},
                              std::pair{"4000000000009995", "insufficient_funds"},
                              std::pair{"4000000000000069", "expired_card"},
                              std::pair{"4000000000000127", "incorrect_cvc"},
                              std::pair{"4111111111111112", "incorrect_number"}}) {
    auto result = gateway.charge(charge(std::string("decline-") + code, number));
    EXPECT_EQ(result.outcome, Outcome::declined) << number;
    EXPECT_EQ(result.decline_code, code);
    auto found = gateway.lookup(std::string("decline-") + code);
    EXPECT_EQ(found.status, LookupStatus::declined);
    EXPECT_EQ(found.decline_code, code);
  }
}

TEST(HttpGateway, ProcessingErrorAndConflictAreErrors) {
  MockGatewayServer server;
  payments::HttpGateway gateway(server.url(), 5s);
  auto processing = gateway.charge(charge("e1", "4000000000000119"));
  EXPECT_EQ(processing.outcome, Outcome::error);
  EXPECT_EQ(processing.decline_code, "processing_error");
  EXPECT_EQ(gateway.lookup("e1").status, LookupStatus::not_found);

  gateway.charge(charge("e2", "4242424242424242", 100));
  auto conflict = gateway.charge(charge("e2", "4242424242424242", 200));
  EXPECT_EQ(conflict.outcome, Outcome::error);
  EXPECT_EQ(conflict.decline_code, "idempotency_conflict");
}

TEST(HttpGateway, A5xxThatSaysNothingWasChargedIsAnError) {
  MockGatewayServer server(0ms, "", {.fail_status = 502});  // the protocol's processing_error body
  payments::HttpGateway gateway(server.url(), 5s);
  auto result = gateway.charge(charge("said-not-charged", "4242424242424242"));
  EXPECT_EQ(result.outcome, Outcome::error) << result.message;
  EXPECT_EQ(result.decline_code, "processing_error");
  EXPECT_EQ(gateway.lookup("said-not-charged").status, LookupStatus::not_found);
}

TEST(HttpGateway, A5xxWithoutTheProtocolsVerdictIsUnknownNotUncharged) {
  MockGatewayServer server(0ms, "", {.fail_after_charge = 502});  // charges, then a proxy's error page
  payments::HttpGateway gateway(server.url(), 5s);
  auto result = gateway.charge(charge("charged-then-502", "4242424242424242"));
  EXPECT_EQ(result.outcome, Outcome::unknown) << result.message;
  auto found = gateway.lookup("charged-then-502");
  EXPECT_EQ(found.status, LookupStatus::approved);  // it was charged: "error" would have been a lie
}

TEST(HttpGateway, KeysWithAnyPrintableCharacterRoundTrip) {
  MockGatewayServer server;
  payments::HttpGateway gateway(server.url(), 5s);
  const std::string key = "order/7 attempt?#%2F~:1";
  auto result = gateway.charge(charge(key, "4242424242424242"));
  ASSERT_EQ(result.outcome, Outcome::approved) << result.message;
  EXPECT_EQ(gateway.lookup(key).reference, result.reference);
  EXPECT_EQ(gateway.lookup("order/7 attempt?#%2F~:2").status, LookupStatus::not_found);
}

TEST(HttpGateway, ANotFoundFromAWrongUrlIsNotTakenForNeverCharged) {
  MockGatewayServer server(0ms, "/wrong-prefix");
  payments::HttpGateway gateway(server.url(), 5s);
  EXPECT_EQ(gateway.lookup("anything").status, LookupStatus::unavailable);
  EXPECT_EQ(gateway.charge(charge("x", "4242424242424242")).outcome, Outcome::error);  // 404: not charged
}

TEST(HttpGateway, ResolvesHostNames) {
  MockGatewayServer server;
  auto url = server.url();
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  payments::HttpGateway gateway(url, 5s);
  EXPECT_EQ(gateway.charge(charge("by-name", "4242424242424242")).outcome, Outcome::approved);
}

TEST(HttpGateway, AGatewayThatIsDownIsAnErrorWithinTheTimeout) {
  payments::HttpGateway gateway("http://127.0.0.1:" + std::to_string(closed_port()), 2s);
  payments::ChargeResult result;
  auto took = time_of([&] { result = gateway.charge(charge("down", "4242424242424242")); });
  EXPECT_EQ(result.outcome, Outcome::error) << result.message;  // never sent: certainly not charged
  EXPECT_LT(took, 2s);
  EXPECT_GE(took, 250ms) << "two retries with a pause before each";
  EXPECT_EQ(gateway.lookup("down").status, LookupStatus::unavailable);
}

TEST(HttpGateway, NoAnswerAfterSendingIsUnknownAtTheTimeout) {
  SilentPort silent;
  payments::HttpGateway gateway(silent.url(), 300ms);
  payments::ChargeResult result;
  auto took = time_of([&] { result = gateway.charge(charge("silent", "4242424242424242")); });
  EXPECT_EQ(result.outcome, Outcome::unknown) << result.message;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
}

TEST(HttpGateway, ATimedOutChargeIsFoundByLookup) {
  MockGatewayServer server(600ms);
  payments::HttpGateway impatient(server.url(), 200ms);
  EXPECT_EQ(impatient.charge(charge("slow-1", "4242424242424242")).outcome, Outcome::unknown);
  payments::HttpGateway reconciler(server.url(), 5s);
  auto found = reconciler.lookup("slow-1");
  EXPECT_EQ(found.status, LookupStatus::approved);  // it was charged: reconciliation must not guess "failed"
}

// --- refunds -----------------------------------------------------------------------------------

namespace {

using payments::RefundLookupStatus;
using payments::RefundOutcome;

payments::GatewayRefundRequest refund_of(std::string key, std::string charge, std::int64_t amount) {
  return {std::move(key), std::move(charge), amount, "usd"};
}

// Charges 130.00 on `number` and returns the charge's reference.
std::string charged(payments::Gateway& gateway, const std::string& key,
                    const std::string& number = "4242424242424242") {
  auto result = gateway.charge(charge(key, number, 13000));
  EXPECT_EQ(result.outcome, Outcome::approved) << result.message;
  return result.reference;
}

}  // namespace

TEST(MockGatewayRefunds, RefundNeverMoreThanTheChargeAndReplayByKey) {
  auto gateway = mock();
  auto ch = charged(gateway, "c1");
  auto first = gateway.refund(refund_of("r1", ch, 10000));
  ASSERT_EQ(first.outcome, RefundOutcome::succeeded) << first.message;
  EXPECT_TRUE(first.reference.starts_with("re_"));
  auto replay = gateway.refund(refund_of("r1", ch, 10000));
  EXPECT_EQ(replay.outcome, RefundOutcome::succeeded);
  EXPECT_EQ(replay.reference, first.reference);  // the same key never refunds twice
  auto too_much = gateway.refund(refund_of("r2", ch, 3001));
  EXPECT_EQ(too_much.outcome, RefundOutcome::refused);
  EXPECT_EQ(too_much.failure_code, "amount_exceeds_charge");
  EXPECT_EQ(gateway.refund(refund_of("r3", ch, 3000)).outcome, RefundOutcome::succeeded);
  EXPECT_EQ(gateway.refund(refund_of("r4", ch, 1)).failure_code, "amount_exceeds_charge");
  EXPECT_EQ(gateway.lookup_refund("r1").status, RefundLookupStatus::succeeded);
  EXPECT_EQ(gateway.lookup_refund("r1").reference, first.reference);
  EXPECT_EQ(gateway.lookup_refund("r2").status, RefundLookupStatus::refused);
  EXPECT_EQ(gateway.lookup_refund("never").status, RefundLookupStatus::not_found);
}

TEST(MockGatewayRefunds, AKeyReusedForAnotherRefundIsAConflict) {
  auto gateway = mock();
  auto ch = charged(gateway, "c1");
  gateway.refund(refund_of("r", ch, 100));
  auto other = gateway.refund(refund_of("r", ch, 200));
  EXPECT_EQ(other.outcome, RefundOutcome::error);
  EXPECT_EQ(other.failure_code, "idempotency_conflict");
  EXPECT_EQ(gateway.find_refund("r")->amount_minor, 100);
}

TEST(MockGatewayRefunds, TheRefundRefusingCardAndUnknownCharges) {
  auto gateway = mock();
  auto ch = charged(gateway, "c1", "4000000000005126");  // Stripe's: the charge succeeds...
  auto refused = gateway.refund(refund_of("r", ch, 100));  // ...its refunds fail
  EXPECT_EQ(refused.outcome, RefundOutcome::refused);
  EXPECT_EQ(refused.failure_code, "expired_or_canceled_card");
  EXPECT_EQ(gateway.refund(refund_of("r2", "ch_nothing", 100)).failure_code, "charge_not_found");
  auto other_currency = refund_of("r3", charged(gateway, "c2"), 100);
  other_currency.currency = "eur";
  EXPECT_EQ(gateway.refund(other_currency).failure_code, "currency_mismatch");
  EXPECT_EQ(gateway.refund(refund_of("", ch, 100)).outcome, RefundOutcome::error);
  EXPECT_EQ(gateway.refund(refund_of("z", ch, 0)).outcome, RefundOutcome::error);
}

TEST(MockGatewayRefunds, ConcurrentRefundsNeverPassTheCharge) {
  auto gateway = mock();
  auto ch = charged(gateway, "c1");  // 130.00
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      if (gateway.refund(refund_of("r" + std::to_string(i), ch, 1000)).outcome == RefundOutcome::succeeded) ++succeeded;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 13);
}

TEST(HttpGatewayRefunds, RefundsReplaysAndLooksUp) {
  MockGatewayServer server;
  payments::HttpGateway gateway(server.url(), 5s);
  auto ch = charged(gateway, "http-c1");
  auto first = gateway.refund(refund_of("http-r1", ch, 1250));
  ASSERT_EQ(first.outcome, RefundOutcome::succeeded) << first.message;
  EXPECT_EQ(gateway.refund(refund_of("http-r1", ch, 1250)).reference, first.reference);
  EXPECT_EQ(gateway.lookup_refund("http-r1").status, RefundLookupStatus::succeeded);
  EXPECT_EQ(gateway.lookup_refund("http-r1").reference, first.reference);
  EXPECT_EQ(gateway.lookup_refund("http-none").status, RefundLookupStatus::not_found);
  auto conflict = gateway.refund(refund_of("http-r1", ch, 1));
  EXPECT_EQ(conflict.outcome, RefundOutcome::error);
  EXPECT_EQ(conflict.failure_code, "idempotency_conflict");
  auto too_much = gateway.refund(refund_of("http-r2", ch, 13000));
  EXPECT_EQ(too_much.outcome, RefundOutcome::refused);
  EXPECT_EQ(too_much.failure_code, "amount_exceeds_charge");
  EXPECT_EQ(gateway.lookup_refund("http-r2").status, RefundLookupStatus::refused);
}

TEST(HttpGatewayRefunds, RefundFaultsAreLikeChargeFaults) {
  {
    MockGatewayServer server(0ms, "", {}, {.fail_status = 503});
    payments::HttpGateway gateway(server.url(), 5s);
    auto ch = charged(gateway, "c");  // charges are healthy
    auto result = gateway.refund(refund_of("said-not-refunded", ch, 100));
    EXPECT_EQ(result.outcome, RefundOutcome::error) << result.message;
    EXPECT_EQ(gateway.lookup_refund("said-not-refunded").status, RefundLookupStatus::not_found);
  }
  {
    MockGatewayServer server(0ms, "", {}, {.fail_after_charge = 502});
    payments::HttpGateway gateway(server.url(), 5s);
    auto ch = charged(gateway, "c");
    EXPECT_EQ(gateway.refund(refund_of("refunded-then-502", ch, 100)).outcome, RefundOutcome::unknown);
    EXPECT_EQ(gateway.lookup_refund("refunded-then-502").status, RefundLookupStatus::succeeded);
  }
  {
    MockGatewayServer server(0ms, "", {}, {.reset_after_charge = true});
    payments::HttpGateway gateway(server.url(), 5s);
    auto ch = charged(gateway, "c");
    EXPECT_EQ(gateway.refund(refund_of("refunded-then-reset", ch, 100)).outcome, RefundOutcome::unknown);
    EXPECT_EQ(gateway.lookup_refund("refunded-then-reset").status, RefundLookupStatus::succeeded);
  }
}

TEST(HttpGatewayRefunds, ANotFoundFromAWrongUrlIsNotTakenForNeverRefunded) {
  MockGatewayServer server(0ms, "/wrong-prefix");
  payments::HttpGateway gateway(server.url(), 5s);
  EXPECT_EQ(gateway.lookup_refund("anything").status, RefundLookupStatus::unavailable);
}
