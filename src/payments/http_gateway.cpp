#include "payments/http_gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <vector>
#include <stdexcept>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace payments {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr int kConnectRetries = 2;
constexpr std::chrono::milliseconds kRetryPause{100};  // doubled for the second retry
constexpr std::size_t kReplyLimit = 64 * 1024;
constexpr std::string_view kUserAgent = "orderd/" ORDERD_VERSION;

struct Reply {
  int status = 0;
  std::string body;
};

// What one exchange came to. `sent` turns true once the request may have reached the gateway: from then
// on a failure means "maybe charged", never "not charged".
struct Exchange {
  std::optional<Reply> reply;
  bool sent = false;
  std::string failure;  // why there is no reply (for the log and the result's message)
};

bool retryable_connect_error(const boost::system::error_code& ec) {
  return ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted;
}

// Everything one call needs lives here, on the calling thread's stack, and outlives ioc.run(): a
// late timer handler can never touch a destroyed resolver.
struct Call {
  asio::io_context ioc{1};
  tcp::resolver resolver{ioc};
  asio::steady_timer resolve_guard{ioc};
  Exchange result;
};

// The gateway's addresses: the host itself when it is an IP address, or a name lookup cancelled at the
// deadline (it has no timeout of its own). None, with the failure recorded, when the lookup failed.
asio::awaitable<std::optional<std::vector<tcp::endpoint>>> resolve(Call& call, const std::string& host,
                                                                  const std::string& port,
                                                                  Clock::time_point deadline) {
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code literal_ec;
  auto literal = asio::ip::make_address(host, literal_ec);
  if (!literal_ec) {
    endpoints.emplace_back(literal, static_cast<unsigned short>(std::stoul(port)));
    co_return endpoints;
  }
  call.resolve_guard.expires_at(deadline);
  call.resolve_guard.async_wait([&call](boost::system::error_code ec) {
    if (!ec) call.resolver.cancel();
  });
  auto [resolve_ec, results] = co_await call.resolver.async_resolve(host, port, use_nothrow);
  call.resolve_guard.cancel();
  if (resolve_ec) {
    call.result.failure = "cannot resolve the gateway host: " + resolve_ec.message();
    co_return std::nullopt;
  }
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  co_return endpoints;
}

// A connected stream, after up to kConnectRetries more tries of a connect the gateway refused or
// dropped (nothing was sent, so trying again is safe). None, with the failure recorded, otherwise.
asio::awaitable<std::optional<beast::tcp_stream>> connect(Call& call, const std::vector<tcp::endpoint>& endpoints,
                                                          const std::string& host, const std::string& port,
                                                          Clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  for (int attempt = 0;; ++attempt) {
    beast::tcp_stream stream(executor);
    stream.expires_at(deadline);
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_nothrow);
    if (!connect_ec) co_return std::optional<beast::tcp_stream>(std::move(stream));
    auto pause = kRetryPause * (1 << attempt);
    if (!retryable_connect_error(connect_ec) || attempt >= kConnectRetries || Clock::now() + pause >= deadline) {
      call.result.failure = "cannot connect to the gateway: " + connect_ec.message();
      co_return std::nullopt;
    }
    spdlog::warn("payment gateway {}:{}: {}; retrying in {} ms", host, port, connect_ec.message(), pause.count());
    asio::steady_timer wait(executor, pause);
    co_await wait.async_wait(use_nothrow);
  }
}

// Sends the request and reads the reply. From the first byte on, the request may have reached the
// gateway (`sent`).
asio::awaitable<void> send_and_read(beast::tcp_stream& stream, bhttp::request<bhttp::string_body>& request,
                                    Exchange& out) {
  out.sent = true;
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, use_nothrow);
  if (write_ec) {
    out.failure = "connection lost while sending: " + write_ec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kReplyLimit);
  auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
  if (read_ec) {
    out.failure = read_ec == beast::error::timeout ? "no answer before the timeout"
                                                  : "connection lost while waiting: " + read_ec.message();
    co_return;
  }
  out.reply = Reply{static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// One call: resolve, connect, send, read; every step bounded by the one deadline.
asio::awaitable<void> exchange(Call& call, const std::string& host, const std::string& port,
                               bhttp::request<bhttp::string_body>& request, Clock::time_point deadline) {
  auto endpoints = co_await resolve(call, host, port, deadline);
  if (!endpoints) co_return;
  auto stream = co_await connect(call, *endpoints, host, port, deadline);
  if (!stream) co_return;
  co_await send_and_read(*stream, request, call.result);
}

// Runs one request to completion (or to the deadline) on a private io_context on this thread.
Exchange perform(const std::string& host, const std::string& port, bhttp::request<bhttp::string_body>& request,
                 std::chrono::milliseconds timeout) {
  Call call;
  auto deadline = Clock::now() + timeout;
  asio::co_spawn(call.ioc, exchange(call, host, port, request, deadline), [&call](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      call.result.failure = std::string("gateway call failed: ") + e.what();
    }
  });
  call.ioc.run();
  return std::move(call.result);
}

bhttp::request<bhttp::string_body> make_request(bhttp::verb verb, const std::string& target, const std::string& host,
                                                const std::string& port) {
  bhttp::request<bhttp::string_body> request{verb, target, 11};
  request.set(bhttp::field::host, host + ":" + port);
  request.set(bhttp::field::user_agent, kUserAgent);
  request.set(bhttp::field::accept, "application/json");
  request.keep_alive(false);
  return request;
}

// The reply's JSON object, or an empty one when the body is not a JSON object.
json::object reply_object(const Reply& reply) {
  boost::system::error_code ec;
  auto value = json::parse(reply.body, ec);
  if (ec || !value.is_object()) return {};
  return std::move(value.as_object());
}

std::string text_of(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The protocol's own "not charged" answer to a charge: a 5xx with {"status": "failed", "decline_code":
// "processing_error"}. A 5xx without it (a proxy's 502, a crash page) says nothing about the charge.
bool says_not_charged(const json::object& body) {
  return text_of(body, "status") == "failed" && text_of(body, "decline_code") == "processing_error";
}

// What a charge came to. Only an answer that says so means "not charged": 402, a 4xx refusing the
// request, or the protocol's processing error. A 5xx without that body, a status outside the protocol
// or an answer that cannot be read may follow a charge, so it is `unknown` and the reconciler asks.
ChargeResult interpret_charge(const Exchange& exchange) {
  if (!exchange.reply) {
    if (exchange.sent) return {Outcome::unknown, "", "", "Payment gateway outcome unknown: " + exchange.failure};
    return {Outcome::error, "", "", "Payment gateway unavailable: " + exchange.failure};
  }
  const auto& reply = *exchange.reply;
  auto body = reply_object(reply);
  auto id = text_of(body, "id");
  auto code = text_of(body, "decline_code");
  auto message = text_of(body, "message");
  auto status = std::to_string(reply.status);
  if (reply.status == 200) {
    if (text_of(body, "status") == "succeeded" && !id.empty()) return {Outcome::approved, id, "", "Payment approved."};
    return {Outcome::unknown, id, "", "The gateway answered 200 without a succeeded charge"};
  }
  if (reply.status == 402) {
    return {Outcome::declined, id, code.empty() ? "card_declined" : code,
            message.empty() ? "Your card was declined." : message};
  }
  if (reply.status == 409) {
    return {Outcome::error, "", "idempotency_conflict", "The gateway saw this idempotency key with another request"};
  }
  if (reply.status >= 500 && says_not_charged(body)) {
    return {Outcome::error, "", code,
            "Payment gateway error (HTTP " + status + ")" + (message.empty() ? "" : ": " + message)};
  }
  if (reply.status >= 400 && reply.status < 500) {
    // The gateway refused the request as such (nothing charged). Its body is not repeated here, in
    // case it quotes what we sent.
    return {Outcome::error, "", "", "The payment gateway rejected the request (HTTP " + status +
                                        (text_of(body, "code").empty() ? "" : ", " + text_of(body, "code")) + ")"};
  }
  return {Outcome::unknown, "", "", "Payment gateway outcome unknown: HTTP " + status + " without a verdict"};
}

LookupResult interpret_lookup(const Exchange& exchange) {
  if (!exchange.reply) return {LookupStatus::unavailable, "", ""};
  auto body = reply_object(*exchange.reply);
  switch (exchange.reply->status) {
    case 200:
      if (text_of(body, "status") == "succeeded") return {LookupStatus::approved, text_of(body, "id"), ""};
      break;
    case 402: return {LookupStatus::declined, text_of(body, "id"), text_of(body, "decline_code")};
    case 404:
      // Only the protocol's own answer counts as "never charged": a 404 from a wrong URL must not.
      if (text_of(body, "code") == "charge_not_found") return {LookupStatus::not_found, "", ""};
      break;
    default: break;
  }
  return {LookupStatus::unavailable, "", ""};
}

// What a refund came to, by the charge's rules: only a 402, a 4xx refusing the request or the protocol's
// processing error mean "not refunded"; anything else after sending is `unknown`.
RefundResult interpret_refund(const Exchange& exchange) {
  if (!exchange.reply) {
    if (exchange.sent) return {RefundOutcome::unknown, "", "", "Refund outcome unknown: " + exchange.failure};
    return {RefundOutcome::error, "", "", "Payment gateway unavailable: " + exchange.failure};
  }
  const auto& reply = *exchange.reply;
  auto body = reply_object(reply);
  auto id = text_of(body, "id");
  auto code = text_of(body, "failure_code");
  auto status = std::to_string(reply.status);
  if (reply.status == 200) {
    if (text_of(body, "status") == "succeeded" && !id.empty()) return {RefundOutcome::succeeded, id, "", "Refunded."};
    return {RefundOutcome::unknown, id, "", "The gateway answered 200 without a succeeded refund"};
  }
  if (reply.status == 402) {
    return {RefundOutcome::refused, id, code.empty() ? "refund_failed" : code, text_of(body, "message")};
  }
  if (reply.status == 409) {
    return {RefundOutcome::error, "", "idempotency_conflict",
            "The gateway saw this idempotency key with another request"};
  }
  if (reply.status >= 500 && says_not_charged(body)) {
    return {RefundOutcome::error, "", "processing_error", "Payment gateway error (HTTP " + status + ")"};
  }
  if (reply.status >= 400 && reply.status < 500) {
    auto code_text = text_of(body, "code").empty() ? std::string() : ", " + text_of(body, "code");
    return {RefundOutcome::error, "", "", "The payment gateway rejected the refund (HTTP " + status + code_text + ")"};
  }
  return {RefundOutcome::unknown, "", "", "Refund outcome unknown: HTTP " + status + " without a verdict"};
}

RefundLookupResult interpret_refund_lookup(const Exchange& exchange) {
  if (!exchange.reply) return {RefundLookupStatus::unavailable, "", ""};
  auto body = reply_object(*exchange.reply);
  switch (exchange.reply->status) {
    case 200:
      if (text_of(body, "status") == "succeeded") return {RefundLookupStatus::succeeded, text_of(body, "id"), ""};
      break;
    case 402: return {RefundLookupStatus::refused, text_of(body, "id"), text_of(body, "failure_code")};
    case 404:
      // As for charges: only the protocol's own answer means "never refunded".
      if (text_of(body, "code") == "refund_not_found") return {RefundLookupStatus::not_found, "", ""};
      break;
    default: break;
  }
  return {RefundLookupStatus::unavailable, "", ""};
}

}  // namespace

GatewayAddress parse_gateway_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host_address().empty() || parsed->has_query() ||
      parsed->has_fragment() || parsed->has_userinfo()) {
    throw std::invalid_argument("must look like http://host:port (no user, query or fragment)");
  }
  GatewayAddress address{std::string(parsed->host_address()),
                         parsed->has_port() ? std::string(parsed->port()) : "80", std::string(parsed->encoded_path())};
  const auto& port = address.port;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) == 0 || std::stoul(port) > 65535) {
    throw std::invalid_argument("has an invalid port: 1 to 65535");
  }
  while (!address.prefix.empty() && address.prefix.back() == '/') address.prefix.pop_back();
  return address;
}

HttpGateway::HttpGateway(const std::string& url, std::chrono::milliseconds timeout) : timeout_(timeout) {
  auto address = parse_gateway_url(url);
  host_ = std::move(address.host);
  port_ = std::move(address.port);
  prefix_ = std::move(address.prefix);
}

ChargeResult HttpGateway::charge(const ChargeRequest& charge) {
  if (!valid_idempotency_key(charge.idempotency_key)) {
    return {Outcome::error, "", "", "An idempotency key of 1-255 printable characters is required."};
  }
  auto request = make_request(bhttp::verb::post, prefix_ + "/v1/charges", host_, port_);
  request.set("Idempotency-Key", charge.idempotency_key);
  request.set(bhttp::field::content_type, "application/json");
  request.body() = json::serialize(json::object{
      {"amount", charge.amount_minor},
      {"currency", charge.currency},
      {"card",
       {{"number", charge.card.number},
        {"exp_month", charge.card.exp_month},
        {"exp_year", charge.card.exp_year},
        {"cvc", charge.card.cvc}}},
      {"description", charge.description},
  });
  request.prepare_payload();

  auto exchange = perform(host_, port_, request, timeout_);
  sodium_memzero(request.body().data(), request.body().size());  // the card leaves no copy behind
  auto result = interpret_charge(exchange);
  if (result.outcome == Outcome::error || result.outcome == Outcome::unknown) {
    spdlog::warn("payment gateway charge key={}: {}: {}", charge.idempotency_key, to_string(result.outcome),
                 result.message);
  }
  return result;
}

LookupResult HttpGateway::lookup(const std::string& idempotency_key) {
  if (!valid_idempotency_key(idempotency_key)) return {LookupStatus::not_found, "", ""};
  auto target = prefix_ + "/v1/charges/" + boost::urls::encode(idempotency_key, boost::urls::unreserved_chars);
  auto request = make_request(bhttp::verb::get, target, host_, port_);
  auto exchange = perform(host_, port_, request, timeout_);
  auto result = interpret_lookup(exchange);
  if (result.status == LookupStatus::unavailable) {
    spdlog::warn("payment gateway lookup key={}: unavailable: {}", idempotency_key,
                 exchange.reply ? "HTTP " + std::to_string(exchange.reply->status) : exchange.failure);
  }
  return result;
}

RefundResult HttpGateway::refund(const GatewayRefundRequest& refund) {
  if (!valid_idempotency_key(refund.idempotency_key)) {
    return {RefundOutcome::error, "", "", "An idempotency key of 1-255 printable characters is required."};
  }
  auto request = make_request(bhttp::verb::post, prefix_ + "/v1/refunds", host_, port_);
  request.set("Idempotency-Key", refund.idempotency_key);
  request.set(bhttp::field::content_type, "application/json");
  request.body() = json::serialize(
      json::object{{"charge", refund.charge}, {"amount", refund.amount_minor}, {"currency", refund.currency}});
  request.prepare_payload();
  auto result = interpret_refund(perform(host_, port_, request, timeout_));
  if (result.outcome == RefundOutcome::error || result.outcome == RefundOutcome::unknown) {
    spdlog::warn("payment gateway refund key={}: {}: {}", refund.idempotency_key, to_string(result.outcome),
                 result.message);
  }
  return result;
}

RefundLookupResult HttpGateway::lookup_refund(const std::string& idempotency_key) {
  if (!valid_idempotency_key(idempotency_key)) return {RefundLookupStatus::not_found, "", ""};
  auto target = prefix_ + "/v1/refunds/" + boost::urls::encode(idempotency_key, boost::urls::unreserved_chars);
  auto request = make_request(bhttp::verb::get, target, host_, port_);
  auto exchange = perform(host_, port_, request, timeout_);
  auto result = interpret_refund_lookup(exchange);
  if (result.status == RefundLookupStatus::unavailable) {
    spdlog::warn("payment gateway refund lookup key={}: unavailable: {}", idempotency_key,
                 exchange.reply ? "HTTP " + std::to_string(exchange.reply->status) : exchange.failure);
  }
  return result;
}

}  // namespace payments
