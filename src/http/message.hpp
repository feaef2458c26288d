#pragma once
// orderd's own request and response types: what handlers see. No Beast or Asio in here, so domain
// code compiles without them; http/server.cpp converts at the edge.

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

enum class Method { get, head, post, put, patch, del, options, other };
std::string_view to_string(Method) noexcept;

// Who made the request, once authentication has run.
struct Principal {
  std::int64_t user_id = 0;
  bool staff = false;
};

using Params = std::vector<std::pair<std::string, std::string>>;

struct Request {
  Method method = Method::get;
  std::string path;    // without the query string
  Params query;        // decoded query parameters, in order
  Params path_params;  // values of {name} segments of the matched route
  std::string body;
  std::string content_type;
  std::string authorization;
  bool authorization_repeated = false;  // more than one Authorization header came: none is believed
  std::string host;
  std::string idempotency_key;
  int idempotency_key_headers = 0;  // how many Idempotency-Key headers came (one is right; 0: none)
  std::string peer_address;    // the TCP peer: the client, or a reverse proxy in front of orderd
  std::string remote_address;  // the client: the peer, or X-Forwarded-For's from a trusted proxy
  std::string base_url;  // "http://host:port" for absolute links: public_url, else from the Host header
  std::string origin;               // the Origin header: a browser page's scheme://host:port, or empty
  std::string cors_request_method;  // Access-Control-Request-Method: set in a CORS preflight

  std::string request_id;
  std::optional<Principal> principal;  // set for routes that require a user
  boost::json::value json;             // the parsed body, for routes that take JSON

  // The first value of a query parameter; 400 validation_error when it is not UTF-8 text.
  std::optional<std::string_view> query_param(std::string_view name) const;
  // The same value unchecked, for code that must not throw (the dispatch policy, on the I/O thread).
  std::optional<std::string_view> raw_query_param(std::string_view name) const;
  std::string_view path_param(std::string_view name) const;
  // The path parameter as a positive id; throws not_found when it is not one.
  std::int64_t id_param(std::string_view name = "id") const;
  const Principal& user() const;  // throws not_authenticated when absent
};

// The token of an "Authorization: Bearer <token>" header (the scheme in any case); nullopt when the
// header is absent or repeated, names another scheme or carries no token.
std::optional<std::string_view> bearer_token(const Request& request);

// How the server ends an exchange. Only test doubles use more than `answer`: the mock gateway's fault
// flags (docs/payment-gateway.md) make a client see a connection reset or a server that never answers.
enum class Delivery {
  answer,   // write the response (the normal case)
  reset,    // write nothing and reset the connection (TCP RST)
  silence,  // write nothing; keep the connection open until the client closes it (or the idle timeout)
};

// A body made while it is written (exports of any size): each call returns the next piece, and an
// empty piece ends the body. The server sends it with chunked transfer encoding, asking for a piece
// on the handler pool only once the previous one is written, so the response holds one piece in
// memory at a time however long it is. The status and headers go out before the first piece: a
// failure after that can only end the connection (the client sees a body without its last chunk),
// so a handler checks its input before it returns a stream.
using BodyPieces = std::function<std::string()>;

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  Delivery delivery = Delivery::answer;
  BodyPieces pieces;  // set: the body is streamed from it, and `body` is not used
};

Response json_response(int status, const boost::json::value& body);
Response no_content();
// The contract's error body {"code", "error", "details"} with the status its code maps to.
Response error_response(std::string_view code, std::string_view message, const boost::json::object& details = {});

}  // namespace http
