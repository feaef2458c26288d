#pragma once
// The HTTP/1.1 server: Beast + Asio coroutines, one io_context per I/O thread, handlers on the handler
// pool (or where their route says: http::Runs). Asio and Beast stay inside server.cpp.

#include "http/client_address.hpp"
#include "http/cors.hpp"
#include "http/router.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace common {
class Metrics;
}

namespace http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  std::string public_url;  // base of absolute links (pagination); empty: taken from each request's Host
  int io_threads = 1;       // each runs its own io_context: accepting, reading, writing
  int handler_threads = 4;  // the handler pool: handlers that may block (Runs::handler_pool)
  int slow_lane_threads = 2;  // Runs::slow_lane handlers at once
  int slow_lane_queue = 64;   // and how many more may wait for one of them before 503 too_busy
  TrustedProxies trusted_proxies;  // peers whose X-Forwarded-For names the client
  CorsPolicy cors;                 // origins whose browser pages may call the API (none by default)
  bool local_reads = false;  // Runs::local_read routes run on the I/O thread (the database is SQLite)
  // Hands a transaction to the database's writer and calls back (on the writer's thread) once it is
  // committed or failed; routes' write steps use it when set (db::Database::submit, when it queues_writes()).
  std::function<void(std::function<void(db::Connection&)>, std::function<void(std::exception_ptr)>)> submit_write;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};   // to receive a request's headers once it has begun
  std::chrono::milliseconds read_timeout{30'000};     // to receive its body
  std::chrono::milliseconds idle_timeout{60'000};     // an idle keep-alive connection is closed after this
  std::chrono::milliseconds shutdown_timeout{30'000}; // in-flight requests get this long to finish on stop
};

class Server {
 public:
  Server(ServerOptions options, const Router& router, common::Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (useful when options.port is 0).
  std::uint16_t listen();
  // Serves until SIGTERM/SIGINT or stop(), then lets in-flight requests finish and returns.
  void run();
  // Begins a graceful stop; safe from any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace http
