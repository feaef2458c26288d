#include "http/server.hpp"

#include "common/log_context.hpp"
#include "common/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <csignal>
#include <exception>
#include <stdexcept>
#include <sys/resource.h>
#include <latch>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>
#include <variant>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace http {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxConnections = 10'000;
// File descriptors kept for everything but client connections: database files and connections, the
// listening socket, log files, SMTP and gateway connections.
constexpr rlim_t kReservedDescriptors = 128;
constexpr std::size_t kMaxLogPath = 200;
constexpr std::size_t kReadAhead = 16 * 1024;  // what the connection buffer holds beyond a request's headers

Method to_method(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get: return Method::get;
    case bhttp::verb::head: return Method::head;
    case bhttp::verb::post: return Method::post;
    case bhttp::verb::put: return Method::put;
    case bhttp::verb::patch: return Method::patch;
    case bhttp::verb::delete_: return Method::del;
    case bhttp::verb::options: return Method::options;
    default: return Method::other;
  }
}

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// Whether a request's one Transfer-Encoding header names chunked and nothing else.
bool only_chunked(const bhttp::request<bhttp::string_body>& in) {
  if (in.count(bhttp::field::transfer_encoding) != 1) return false;
  std::string_view coding = in[bhttp::field::transfer_encoding];
  while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
  while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
  return beast::iequals(coding, "chunked");
}

// "http://" + the Host header, when it is a plausible host[:port]; a client's garbage never reaches a link.
std::string base_url_from_host(std::string_view host) {
  bool sane = !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == ':' || c == '[' || c == ']';
  });
  return "http://" + std::string(sane ? host : "localhost");
}

// A request from `peer` whose X-Forwarded-For headers (all of them, in order) may name the client.
std::string client_address(const TrustedProxies& proxies, const bhttp::request<bhttp::string_body>& in,
                           const std::string& peer) {
  std::string forwarded;
  for (auto [it, end] = in.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!forwarded.empty()) forwarded += ',';
    forwarded.append(it->value());
  }
  return proxies.client_address(peer, forwarded);
}

// What a request the parser refused is answered with (then the connection closes).
struct Rejection {
  std::string_view code;
  std::string message;
};

// A limit as the error messages give it: "1 MiB", "16 KiB".
std::string size_text(std::size_t bytes) {
  constexpr std::size_t kKiB = 1024;
  if (bytes % (kKiB * kKiB) == 0) return fmt::format("{} MiB", bytes / (kKiB * kKiB));
  if (bytes % kKiB == 0) return fmt::format("{} KiB", bytes / kKiB);
  return fmt::format("{} bytes", bytes);
}

std::string peer_address(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  auto endpoint = stream.socket().remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

// The Date header's value now (RFC 9110 section 6.6.1: "Wed, 03 Dec 2026 21:15:00 GMT"), made once a
// second per I/O thread.
const std::string& http_date() {
  thread_local std::time_t made = -1;
  thread_local std::string text;
  auto now = std::time(nullptr);
  if (now != made) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buffer[64];
    text.assign(buffer, std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &utc));
    made = now;
  }
  return text;
}

// Runs an I/O thread's context; an exception out of a handler is logged and the thread runs on,
// rather than ending the process (that connection's session is abandoned).
void run_catching(asio::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("an I/O thread's handler failed: {}", e.what());
    }
  }
}

// What a request's path is set to when its target cannot be read: it matches no route.
constexpr std::string_view kBadTarget = "\x01";

// The request target with the characters browsers leave unencoded in a query though RFC 3986 does not
// allow them there (?search=a|b, {, }, ^, `, \, [, ], quotes, < and >) percent-encoded, so it is read
// as they meant it; any other mistake (a lone %) still makes it unreadable.
constexpr std::string_view kLoose = "|^{}[]`\"<>\\";
std::string loosely_encoded(std::string_view target) {
  std::string out;
  out.reserve(target.size());
  for (char c : target) {
    if (kLoose.find(c) == std::string_view::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

// Runs `fn` on a thread pool (the handler pool, the slow lane) and resumes the awaiting coroutine on its
// own executor with the result.
template <class F>
asio::awaitable<Response> run_on(asio::thread_pool& pool, F fn) {
  auto initiate = [&pool, &fn](auto handler) {
    asio::post(pool, [fn = std::move(fn), handler = std::move(handler)]() mutable {
      Response response = fn();
      auto executor = asio::get_associated_executor(handler);
      asio::post(executor, [handler = std::move(handler), response = std::move(response)]() mutable {
        std::move(handler)(std::move(response));
      });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Response)>(initiate,
                                                                                       asio::use_awaitable);
}

// The next piece of a streamed body, made on a thread pool; an exception it threw comes back with it
// (it must not escape into the pool's thread).
struct Piece {
  std::string text;
  std::exception_ptr error;
};

asio::awaitable<Piece> next_piece(asio::thread_pool& pool, const BodyPieces& pieces) {
  auto initiate = [&pool, &pieces](auto handler) {
    asio::post(pool, [&pieces, handler = std::move(handler)]() mutable {
      Piece piece;
      try {
        piece.text = pieces();
      } catch (...) {
        piece.error = std::current_exception();
      }
      auto executor = asio::get_associated_executor(handler);
      asio::post(executor, [handler = std::move(handler), piece = std::move(piece)]() mutable {
        std::move(handler)(std::move(piece));
      });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Piece)>(initiate, asio::use_awaitable);
}

// What a write step's transaction came to, delivered to the awaiting coroutine (an exception_ptr
// as the first completion argument would be rethrown by use_awaitable).
struct Committed {
  std::exception_ptr error;
};

struct Connection {
  beast::tcp_stream* stream;
  bool idle = true;  // waiting for the next request: may be closed at once on stop, or to make room
  std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
};

// Raises the soft limit on open files to the hard limit (a default soft limit of 1024 would cap a
// server meant for thousands of connections) and returns how many connections fit below it.
std::size_t connection_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return kMaxConnections;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return kMaxConnections;
  auto usable = limit.rlim_cur > 2 * kReservedDescriptors ? limit.rlim_cur - kReservedDescriptors : limit.rlim_cur / 2;
  return std::min<std::size_t>(kMaxConnections, static_cast<std::size_t>(usable));
}

// One I/O thread's world: its io_context and the connections it serves (touched only on that thread).
struct IoThread {
  std::unordered_set<Connection*> connections;
  asio::io_context ioc{1};
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const Router& router;
  common::Metrics& metrics;

  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> live{0};
  std::size_t max_connections = kMaxConnections;
  // The open-connection gauge reads this; shared so that /metrics never reads a destroyed server.
  std::shared_ptr<std::atomic<std::size_t>> open_gauge = std::make_shared<std::atomic<std::size_t>>(0);
  common::Counter& evicted;
  common::Counter& refused;

  common::Counter& slow_lane_refused;
  asio::thread_pool handler_pool;     // Runs::handler_pool handlers, and Runs::local_read ones off SQLite
  asio::thread_pool slow_lane;        // Runs::slow_lane handlers
  // Running there or waiting for it; shared with its gauge, like open_gauge.
  std::shared_ptr<std::atomic<int>> slow_lane_load = std::make_shared<std::atomic<int>>(0);
  std::vector<std::unique_ptr<IoThread>> io_threads;
  // Write steps whose completion the database's writer still owes: run() waits for them, so that it
  // never posts to an io_context that is gone.
  std::mutex writes_mutex;
  std::condition_variable writes_done;
  std::size_t writes_in_flight = 0;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;

  Impl(ServerOptions o, const Router& r, common::Metrics& m)
      : options(std::move(o)),
        router(r),
        metrics(m),
        evicted(m.counter("orderd_http_connections_shed_total",
                          "Connections closed or refused because the server was at its connection limit.",
                          R"(reason="idle_evicted")")),
        refused(m.counter("orderd_http_connections_shed_total",
                          "Connections closed or refused because the server was at its connection limit.",
                          R"(reason="refused")")),
        slow_lane_refused(m.counter("orderd_http_slow_lane_refused_total",
                                    "Requests answered 503 too_busy because the slow lane's queue was full.")),
        handler_pool(static_cast<std::size_t>(std::max(1, options.handler_threads))),
        slow_lane(static_cast<std::size_t>(std::max(1, options.slow_lane_threads))) {
    for (int i = 0; i < std::max(1, options.io_threads); ++i) io_threads.push_back(std::make_unique<IoThread>());
    max_connections = connection_limit();
    if (max_connections < kMaxConnections) {
      spdlog::warn("the open-file limit allows {} client connections (below {}); raise `ulimit -n` for more",
                   max_connections, kMaxConnections);
    }
    m.gauge("orderd_http_connections_open", "Client connections open right now.",
            [open = open_gauge] { return static_cast<double>(open->load()); });
    m.gauge("orderd_http_slow_lane_requests", "Requests in the slow lane (password hashing) or waiting for it.",
            [load = slow_lane_load] { return static_cast<double>(load->load()); });
  }

  asio::io_context& main_context() { return io_threads.front()->ioc; }

  // SIGINT and SIGTERM stop gracefully. SIGHUP (a closed terminal, a log rotation's habit) used to
  // kill the process mid-request by its default action; orderd has nothing to reload, so it is logged
  // and ignored.
  void catch_signals() {
    if (signals) return;
    signals.emplace(main_context(), SIGINT, SIGTERM, SIGHUP);
    wait_for_signal();
  }

  void wait_for_signal() {
    signals->async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        spdlog::info("received SIGHUP; ignored (orderd reloads nothing: restart it to apply new settings)");
        wait_for_signal();
        return;
      }
      spdlog::info("received signal {}; finishing in-flight requests", signal);
      begin_shutdown();
    });
  }

  // After shutdown_timeout: every client hears its connection close now, not when the process ends.
  // Runs on each I/O thread (the only one that touches its connections) and waits for all of them.
  void close_every_connection() {
    std::latch closed(static_cast<std::ptrdiff_t>(io_threads.size()));
    for (auto& io : io_threads) {
      asio::post(io->ioc, [io = io.get(), &closed] {
        boost::system::error_code ignored;
        for (auto* c : io->connections) c->stream->socket().close(ignored);
        closed.count_down();
      });
    }
    closed.wait();
  }

  void begin_shutdown() {
    if (stopping.exchange(true)) return;
    asio::post(main_context(), [this] {
      boost::system::error_code ignored;
      if (acceptor) acceptor->close(ignored);
      if (signals) signals->cancel(ignored);
    });
    for (auto& io : io_threads) {
      asio::post(io->ioc, [io = io.get()] {
        for (auto* c : io->connections) {
          if (c->idle) c->stream->cancel();
        }
      });
    }
    std::lock_guard lock(mutex);
    changed.notify_all();
  }

  asio::awaitable<void> accept_loop() {
    for (std::size_t next = 0;; ++next) {
      auto& io = *io_threads[next % io_threads.size()];
      auto [ec, socket] = co_await acceptor->async_accept(io.ioc, use_nothrow);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("accept failed: {}", ec.message());
        asio::steady_timer pause(main_context(), std::chrono::milliseconds(50));  // e.g. out of file descriptors
        co_await pause.async_wait(use_nothrow);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (live.load() >= max_connections) {
        // At the limit, a new client still gets served: the connection that has waited longest for a
        // request on its I/O thread makes room (nginx reuses idle keep-alive connections the same
        // way). Only when that thread has no idle connection is the new one refused.
        asio::post(io.ioc, [this, &io, socket = std::move(socket)]() mutable {
          if (!evict_longest_idle(io)) {
            refused.add();
            spdlog::warn("connection limit {} reached and no idle connection to close; refusing a connection",
                         max_connections);
            return;  // the socket closes as it goes out of scope
          }
          start_session(io, std::move(socket));
        });
        continue;
      }
      start_session(io, std::move(socket));
    }
  }

  void start_session(IoThread& io, tcp::socket socket) {
    ++live;
    ++*open_gauge;
    asio::co_spawn(io.ioc, session(io, std::move(socket)), asio::detached);
  }

  // On that I/O thread: cancels the connection idle the longest (its session then ends).
  bool evict_longest_idle(IoThread& io) {
    Connection* oldest = nullptr;
    for (auto* c : io.connections) {
      if (c->idle && (oldest == nullptr || c->idle_since < oldest->idle_since)) oldest = c;
    }
    if (oldest == nullptr) return false;
    oldest->idle = false;  // not chosen twice
    oldest->stream->cancel();
    evicted.add();
    return true;
  }

  void finish_connection() {
    --*open_gauge;
    if (--live == 0) {
      std::lock_guard lock(mutex);
      changed.notify_all();
    }
  }

  // A connection's place in its I/O thread's set, for as long as its session runs.
  struct Registration {
    Impl& impl;
    IoThread& io;
    Connection& self;
    Registration(Impl& i, IoThread& t, Connection& c) : impl(i), io(t), self(c) { io.connections.insert(&self); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() {
      io.connections.erase(&self);
      impl.finish_connection();
    }
  };

  // Writes a response; the status line, X-Request-Id and keep-alive are set here for every response.
  // An API answer (JSON: a customer's orders, staff's lists) is never stored by a cache and never
  // sniffed into another type, unless the route said otherwise (pages and assets set their own). The
  // answer to HEAD is the same headers, Content-Length included, without the body.
  asio::awaitable<bool> write(beast::tcp_stream& stream, Response& response, unsigned version, bool keep_alive,
                              const std::string& request_id, bool head) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(response.status), version};
    out.set(bhttp::field::server, "orderd");
    if (!response.content_type.empty()) out.set(bhttp::field::content_type, response.content_type);
    if (response.content_type.starts_with("application/json")) {
      out.set(bhttp::field::cache_control, "no-store");
      out.set("X-Content-Type-Options", "nosniff");
    }
    out.set(bhttp::field::date, http_date());
    out.set("X-Request-Id", request_id);
    for (auto& [name, value] : response.headers) out.set(name, value);
    out.body() = std::move(response.body);
    out.keep_alive(keep_alive);
    if (head && response.pieces) out.chunked(version >= 11);  // as the GET's streamed answer would be
    else out.prepare_payload();
    stream.expires_after(options.read_timeout);
    if (head) {
      bhttp::response_serializer<bhttp::string_body> serializer{out};
      auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, use_nothrow);
      co_return !ec;
    }
    auto [ec, n] = co_await bhttp::async_write(stream, out, use_nothrow);
    co_return !ec;
  }

  // Writes a streamed response (Response::pieces): the head with chunked transfer encoding, then one
  // chunk per piece as the handler pool makes them. false when the client went away or a piece
  // failed (logged); the connection then ends without the last chunk, so the client knows the body
  // is incomplete. HTTP/1.0 has no chunked encoding: there the pieces are written as they are and
  // the connection's close ends the body (the caller closes it).
  asio::awaitable<bool> write_streamed(beast::tcp_stream& stream, Response& response, unsigned version,
                                       bool keep_alive, const std::string& request_id) {
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(response.status), version};
    head.set(bhttp::field::server, "orderd");
    if (!response.content_type.empty()) head.set(bhttp::field::content_type, response.content_type);
    head.set(bhttp::field::date, http_date());
    head.set("X-Request-Id", request_id);
    for (auto& [name, value] : response.headers) head.set(name, value);
    head.keep_alive(keep_alive);
    const bool chunked = version >= 11;
    head.chunked(chunked);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    stream.expires_after(options.read_timeout);
    if (auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, use_nothrow); ec) co_return false;
    for (;;) {
      auto piece = co_await next_piece(handler_pool, response.pieces);
      if (piece.error) {
        log_failed_piece(piece.error, request_id);
        co_return false;
      }
      stream.expires_after(options.read_timeout);
      if (piece.text.empty()) {
        if (!chunked) co_return true;
        auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk_last(), use_nothrow);
        co_return !ec;
      }
      auto [ec, n] = chunked ? co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(piece.text)), use_nothrow)
                             : co_await asio::async_write(stream, asio::buffer(piece.text), use_nothrow);
      if (ec) co_return false;
    }
  }

  static void log_failed_piece(const std::exception_ptr& error, const std::string& request_id) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("streamed response failed after its head: {} rid={}", e.what(), request_id);
    } catch (...) {
      spdlog::error("streamed response failed after its head rid={}", request_id);
    }
  }

  // Answers a request that could not be read (too large, not HTTP) and closes the connection politely:
  // stop sending, then read and discard what the client still sends for a moment, so it sees the answer
  // instead of a reset.
  asio::awaitable<void> reject(beast::tcp_stream& stream, const Rejection& rejection) {
    auto response = error_response(rejection.code, rejection.message);
    auto request_id = new_request_id();
    if (co_await write(stream, response, 11, false, request_id, false)) {
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream.expires_after(std::chrono::seconds(2));
      std::array<char, 16 * 1024> sink;
      std::size_t drained = 0;
      while (drained < 8 * options.body_limit) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
        if (ec) break;
        drained += n;
      }
    }
    metrics.observe_request("-", "unparsed", response.status, 0);
    spdlog::info("- unparsed {} rid={}: {}", response.status, request_id, rejection.message);
  }

  // A response that must not be sent (Delivery::reset or ::silence, for test doubles): reset the
  // connection at once, or wait, counted as idle so a graceful stop does not wait for it, until the
  // client gives up.
  asio::awaitable<void> withhold(beast::tcp_stream& stream, Connection& self, Delivery delivery) {
    boost::system::error_code ignored;
    if (delivery == Delivery::reset) {
      stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);  // close() sends RST
      stream.socket().close(ignored);
      co_return;
    }
    self.idle = true;
    stream.expires_after(options.idle_timeout);
    std::array<char, 4096> sink;
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
      if (ec) break;
    }
  }

  Request to_request(bhttp::request<bhttp::string_body>& in, const std::string& peer) {
    Request req;
    req.method = to_method(in.method());
    std::string_view target = in.target();
    std::string encoded;  // made only for a target that needs it: most requests' is read as it came
    if (target.find_first_of(kLoose) != std::string_view::npos) target = encoded = loosely_encoded(target);
    auto url = boost::urls::parse_origin_form(target);
    if (!url && (target.starts_with("http://") || target.starts_with("https://"))) {
      url = boost::urls::parse_absolute_uri(target);  // absolute-form, which RFC 9112 says servers accept
    }
    if (url) {
      req.path = std::string(url->encoded_path());
      if (req.path.empty()) req.path = "/";
      for (auto param : url->params()) req.query.emplace_back(param.key, param.value);
    } else {
      req.path = std::string(kBadTarget);  // answered 400 by handle()
    }
    req.body = std::move(in.body());
    req.content_type = std::string(in[bhttp::field::content_type]);
    req.authorization = std::string(in[bhttp::field::authorization]);
    req.authorization_repeated = in.count(bhttp::field::authorization) > 1;
    req.host = std::string(in[bhttp::field::host]);
    req.idempotency_key = std::string(in["Idempotency-Key"]);
    req.idempotency_key_headers = static_cast<int>(std::min<std::size_t>(in.count("Idempotency-Key"), 2));
    req.peer_address = peer;
    req.remote_address = options.trusted_proxies.empty() ? peer : client_address(options.trusted_proxies, in, peer);
    req.base_url = options.public_url.empty() ? base_url_from_host(req.host) : options.public_url;
    req.origin = std::string(in[bhttp::field::origin]);
    req.cors_request_method = std::string(in[bhttp::field::access_control_request_method]);
    auto id = in["X-Request-Id"];
    req.request_id = is_sane_request_id(id) ? std::string(id) : new_request_id();
    return req;
  }

  // --- The dispatch policy: where a matched route runs (docs/architecture.md, "Threads"). ---
  // A route names its place (Route::runs); the server adds what only it knows: whether the database
  // reads locally (Runs::local_read) and whether it takes write steps (Route::write).

  enum class Lane { io_thread, handler_pool, slow_lane, write_step };

  Lane lane_for(const Route& route, const Request& request) const {
    if (route.runs == Runs::slow_lane) return Lane::slow_lane;
    if (uses_write_step(route, request)) return Lane::write_step;
    if (runs_on_io_thread(route, request)) return Lane::io_thread;
    return Lane::handler_pool;
  }

  asio::awaitable<Response> dispatch(const Route& route, Request& request) {
    switch (lane_for(route, request)) {
      case Lane::slow_lane: co_return co_await run_in_slow_lane(route, request);
      case Lane::write_step: co_return co_await run_write(route, request);
      case Lane::io_thread: co_return router.execute(route, request);
      case Lane::handler_pool: break;
    }
    if (route.kept) {
      if (auto kept = router.execute_kept(route, request)) co_return std::move(*kept);
    }
    co_return co_await run_on(handler_pool, [&] { return router.execute(route, request); });
  }

  // Runs::slow_lane: on the lane's own threads; or, when the lane already has slow_lane_queue
  // requests waiting, 503 too_busy at once. The lane's threads keep the server's CPU priority: below
  // it, a client that retries every 503 at once (wrk, an impatient script) kept the I/O threads busy
  // answering 503s and starved the hashes that would have emptied the queue.
  asio::awaitable<Response> run_in_slow_lane(const Route& route, Request& request) {
    int capacity = std::max(1, options.slow_lane_threads) + std::max(0, options.slow_lane_queue);
    struct Leave {
      std::atomic<int>& load;
      ~Leave() { load.fetch_sub(1); }
    } leave{*slow_lane_load};
    if (slow_lane_load->fetch_add(1) >= capacity) {
      slow_lane_refused.add();
      auto response = error_response("too_busy", "The server is too busy for this right now; try again in a moment");
      response.headers.emplace_back("Retry-After", "1");
      co_return response;
    }
    co_return co_await run_on(slow_lane, [&] { return router.execute(route, request); });
  }

  bool runs_on_io_thread(const Route& route, const Request& request) const {
    switch (route.runs) {
      case Runs::io_thread: return true;
      case Runs::local_read: return options.local_reads && !(route.scans && route.scans(request));
      case Runs::handler_pool:
      case Runs::slow_lane: return false;
    }
    return false;
  }

  // A route's write step: prepared on this I/O thread, its transaction submitted to the database's
  // writer, the response made back on this thread once the writer has committed it. No thread
  // waits in between, so every connection can have an order in the writer's next group.
  asio::awaitable<Response> run_write(const Route& route, Request& request) {
    auto prepared = router.prepare_write(route, request);
    if (auto* response = std::get_if<Response>(&prepared)) co_return std::move(*response);
    auto& step = std::get<WriteStep>(prepared);
    auto initiate = [this, &step](auto handler) {
      auto waiting = std::make_shared<decltype(handler)>(std::move(handler));
      {
        std::lock_guard lock(writes_mutex);
        ++writes_in_flight;
      }
      options.submit_write(std::move(step.transaction), [this, waiting](std::exception_ptr error) mutable {
        auto executor = asio::get_associated_executor(*waiting);
        // The handler moves on with the post: the writer keeps no part of the coroutine.
        asio::post(executor,
                   [waiting = std::move(waiting), error]() mutable { std::move(*waiting)(Committed{error}); });
        std::lock_guard lock(writes_mutex);
        if (--writes_in_flight == 0) writes_done.notify_all();
      });
    };
    auto committed =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(Committed)>(initiate, asio::use_awaitable);
    co_return router.finish_write(route, request, step, committed.error);
  }

  bool uses_write_step(const Route& route, const Request& request) const {
    return route.write && options.submit_write && request.idempotency_key_headers == 0;
  }

  // --- One connection: read, handle, write, repeat (as Beast's awaitable HTTP server example). ---

  // What the router made of a request, and the route's pattern for metrics and logs.
  struct Handled {
    Response response;
    std::string_view route = "unmatched";
  };

  // The matched route's response (run where the dispatch policy says), or 404 / 405 with Allow; OPTIONS
  // on a known path answers which methods it takes, and a CORS preflight what an allowed origin may send.
  asio::awaitable<Handled> handle(Request& request, std::string_view method_text) {
    if (request.path == kBadTarget) {
      co_return Handled{error_response("bad_request", "The request target is not a valid path and query")};
    }
    Params params;
    auto match = router.match(request.method, request.path, params);
    if (match.route) {
      request.path_params = std::move(params);
      auto response = co_await dispatch(*match.route, request);
      co_return Handled{std::move(response), match.route->path};
    }
    if (match.allow.empty()) co_return Handled{error_response("not_found", "Not found")};
    if (request.method == Method::options) co_return Handled{options_answer(options.cors, request, match.allow)};
    auto response = error_response("method_not_allowed", fmt::format("Method {} not allowed", method_text));
    response.headers.emplace_back("Allow", match.allow + ", OPTIONS");  // as an OPTIONS request is told
    co_return Handled{std::move(response)};
  }

  // Waits, idle, for the first bytes of the next request (a stop or a full server may close the
  // connection meanwhile); false when the connection closed or idle_timeout passed.
  asio::awaitable<bool> await_request(beast::tcp_stream& stream, beast::flat_buffer& buffer, Connection& self) {
    self.idle = true;
    self.idle_since = std::chrono::steady_clock::now();
    if (buffer.size() == 0) {
      stream.expires_after(options.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
      if (ec) co_return false;
      buffer.commit(n);
    }
    self.idle = false;
    co_return true;
  }

  using Parser = bhttp::request_parser<bhttp::string_body>;

  // Reads one request's headers (answering Expect: 100-continue) and body into `parser`, within the
  // options' limits and timeouts.
  asio::awaitable<boost::system::error_code> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                          Parser& parser) {
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    stream.expires_after(options.header_timeout);
    auto [ec, header_n] = co_await bhttp::async_read_header(stream, buffer, parser, use_nothrow);
    auto fields = std::distance(parser.get().begin(), parser.get().end());
    // RFC 9112 section 3.2: an HTTP/1.1 request without a Host header, or with two, is a 400 (the first
    // one was taken, and with no public_url it builds the links of every list).
    if (!ec && parser.get().version() >= 11 && parser.get().count(bhttp::field::host) != 1) ec = bhttp::error::bad_field;
    // RFC 9112 section 6: a transfer coding other than chunked alone ("chunked, gzip" was read until
    // the connection closed), or one in an HTTP/1.0 request, leaves the body's length unknown: 400.
    if (!ec && parser.get().count(bhttp::field::transfer_encoding) > 0 &&
        (parser.get().version() < 11 || !only_chunked(parser.get()))) {
      ec = bhttp::error::bad_transfer_encoding;
    }
    if (!ec && parser.get()[bhttp::field::expect] == "100-continue") {
      bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, 11};
      co_await bhttp::async_write(stream, proceed, use_nothrow);
    }
    if (!ec && !parser.is_done()) {
      stream.expires_after(options.read_timeout);
      auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
      ec = body_ec;
    }
    // A chunked body's trailer fields, which Beast adds to the headers: none is taken (RFC 9110
    // section 6.5.1), least of all an Authorization a proxy in front never saw.
    if (!ec && std::distance(parser.get().begin(), parser.get().end()) != fields) ec = bhttp::error::bad_field;
    co_return ec;
  }

  // The answer to a request the parser refused (too large, not HTTP); none for a connection that
  // closed, reset or timed out, which ends quietly.
  std::optional<Rejection> rejection_for(const boost::system::error_code& ec) const {
    if (ec == bhttp::error::body_limit) {
      return Rejection{"payload_too_large", "Request body exceeds " + size_text(options.body_limit)};
    }
    if (ec == bhttp::error::header_limit) {
      return Rejection{"headers_too_large", "Request headers exceed " + size_text(options.header_limit)};
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return Rejection{"bad_request", "Malformed HTTP request"};
    }
    return std::nullopt;
  }

  // The request in /metrics and in the access log.
  void record(const Request& request, std::string_view route, int status,
              std::chrono::steady_clock::time_point started) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.observe_request(to_string(request.method), route, status, seconds);
    common::LogContext log_context{request.request_id, route, request.principal ? request.principal->user_id : 0};
    common::ScopedLogContext in_request(log_context);
    spdlog::info("{} {} {} {} {:.3f}ms rid={} ip={}", to_string(request.method),
                 std::string_view(request.path).substr(0, kMaxLogPath), route, status, seconds * 1000,
                 request.request_id, request.remote_address);
  }

  void record_withheld(const Request& request, std::string_view route, Delivery delivery) {
    spdlog::info("{} {} {} no answer ({}) rid={} ip={}", to_string(request.method),
                 std::string_view(request.path).substr(0, kMaxLogPath), route,
                 delivery == Delivery::reset ? "connection reset" : "silence", request.request_id,
                 request.remote_address);
  }

  asio::awaitable<void> session(IoThread& io, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    Connection self{&stream};
    Registration registration{*this, io, self};
    auto peer = peer_address(stream);
    // Bounded: Beast buffers a chunk-size line or a trailer section whole before it checks it, and a
    // trailer field past 64 KiB made it throw out of the I/O thread (an outside audit: one request
    // ended the process; an endless chunk extension grew it by 100 MB/s). Past this, the read fails
    // with buffer_overflow: 400. Bodies pass through it, parsed as they come.
    beast::flat_buffer buffer{options.header_limit + kReadAhead};
    while (!stopping) {
      if (!co_await await_request(stream, buffer, self)) break;
      Parser parser;
      auto ec = co_await read_request(stream, buffer, parser);
      if (auto rejection = rejection_for(ec)) {
        co_await reject(stream, *rejection);
        co_return;
      }
      if (ec) break;  // closed, reset or timed out

      auto started = std::chrono::steady_clock::now();
      auto& in = parser.get();
      Request request = to_request(in, peer);
      Handled handled = co_await handle(request, in.method_string());
      auto& response = handled.response;
      if (request.method != Method::options) add_cors_headers(options.cors, request, response);
      if (response.delivery != Delivery::answer) {
        co_await withhold(stream, self, response.delivery);
        record_withheld(request, handled.route, response.delivery);
        break;
      }
      int status = response.status;
      // An HTTP/1.0 client learns where a streamed body ends only from the close (write_streamed).
      bool keep_alive = in.keep_alive() && !stopping && !(response.pieces && in.version() < 11);
      bool head = request.method == Method::head;
      bool written = response.pieces && !head
                         ? co_await write_streamed(stream, response, in.version(), keep_alive, request.request_id)
                         : co_await write(stream, response, in.version(), keep_alive, request.request_id, head);
      record(request, handled.route, status, started);
      if (!written || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }
};

Server::Server(ServerOptions options, const Router& router, common::Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

Server::~Server() = default;

std::uint16_t Server::listen() {
  auto& ioc = impl_->main_context();
  auto host = impl_->options.host == "localhost" ? std::string("127.0.0.1") : impl_->options.host;
  try {
    tcp::endpoint endpoint(asio::ip::make_address(host), impl_->options.port);
    impl_->acceptor.emplace(ioc);
    impl_->acceptor->open(endpoint.protocol());
    impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor->bind(endpoint);
    impl_->acceptor->listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    // "bind: Cannot assign requested address [system:99 at .../reactive_socket_service.hpp:161:5 in
    // function ...]" named neither the setting nor the address.
    impl_->acceptor.reset();
    const auto& name = impl_->options.host;
    const auto where = name.find(':') == std::string::npos ? name : "[" + name + "]";
    throw std::runtime_error(fmt::format("cannot listen on {}:{} (listen): {}", where, impl_->options.port,
                                         e.code().message()));
  }
  // From here on SIGINT/SIGTERM are caught (and queued until run()): a caller announces that it is
  // listening right after this, and a signal sent in reply must be a graceful stop, not a kill.
  impl_->catch_signals();
  return impl_->acceptor->local_endpoint().port();
}

void Server::stop() { impl_->begin_shutdown(); }

void Server::run() {
  auto& impl = *impl_;
  if (!impl.acceptor) listen();
  asio::co_spawn(impl.main_context(), impl.accept_loop(), asio::detached);

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  for (auto& io : impl.io_threads) {
    guards.push_back(asio::make_work_guard(io->ioc));
    threads.emplace_back([io = io.get()] { run_catching(io->ioc); });
  }

  std::unique_lock lock(impl.mutex);
  impl.changed.wait(lock, [&] { return impl.stopping.load(); });
  bool drained = impl.changed.wait_for(lock, impl.options.shutdown_timeout, [&] { return impl.live.load() == 0; });
  lock.unlock();
  if (!drained) {
    spdlog::warn("{} connections still open after {} ms; closing them unanswered (requests still running "
                 "finish their work before the process exits)",
                 impl.live.load(), impl.options.shutdown_timeout.count());
    impl.close_every_connection();
  }

  guards.clear();
  for (auto& io : impl.io_threads) io->ioc.stop();
  for (auto& t : threads) t.join();
  impl.handler_pool.join();
  impl.slow_lane.join();
  {
    std::unique_lock writes(impl.writes_mutex);
    impl.writes_done.wait(writes, [&] { return impl.writes_in_flight == 0; });
  }
  spdlog::info("server stopped");
}

}  // namespace http
