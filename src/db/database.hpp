#pragma once
// The storage interface every domain repository talks to, implemented by SQLite (one node) and
// PostgreSQL (several nodes). SQL uses $1, $2, ... placeholders in both dialects.
//
// How repositories write SQL (the one style; docs/architecture.md, "Database"):
// - Every statement is a named constant beside the code that runs it, so a statement's text is the
//   same on every call: each connection prepares it once and finds it again by its text.
// - A statement built from shared parts (a column list, a WHERE clause, a locking clause) is joined
//   at compile time with db::concat(...) from named constants and literals: no macros, no text made
//   at run time, no near-copies of a statement.
// - One text serves both dialects wherever possible. An optional parameter is tested as
//   `CAST($n AS TEXT) IS NULL` (or BIGINT): PostgreSQL cannot infer a parameter's type from an
//   IS NULL test alone, and SQLite ignores the cast. A statement takes no parameter it does not need.
// - Where the dialects need different statements (PostgreSQL's FOR UPDATE SKIP LOCKED claims), both
//   constants stand side by side and the connection picks one: c.sql(sqlite_text, postgres_text).
//   Migrations are the other per-dialect part: a tree of files per dialect (migrate.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace db {

enum class Dialect { sqlite, postgres };

using Null = std::monostate;
using Value = std::variant<Null, std::int64_t, std::string>;

// Errors a repository may want to tell apart; anything else is a plain std::runtime_error.
class Error : public std::runtime_error {
 public:
  enum class Kind { unique_violation, check_violation, foreign_key_violation, retryable, other };
  Error(Kind kind, std::string message, std::string constraint = {})
      : std::runtime_error(std::move(message)), kind_(kind), constraint_(std::move(constraint)) {}
  Kind kind() const noexcept { return kind_; }
  // The name (PostgreSQL) or columns (SQLite) of the violated constraint, when known.
  const std::string& constraint() const noexcept { return constraint_; }

 private:
  Kind kind_;
  std::string constraint_;
};

class Row {
 public:
  explicit Row(const Value* cells) : cells_(cells) {}
  bool is_null(int column) const { return std::holds_alternative<Null>(cells_[column]); }
  std::int64_t integer(int column) const;
  const std::string& text(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  const Value* cells_;
};

struct Result {
  int columns = 0;
  std::vector<Value> cells;         // row-major
  std::int64_t affected_rows = 0;   // for INSERT/UPDATE/DELETE

  std::size_t size() const { return columns == 0 ? 0 : cells.size() / static_cast<std::size_t>(columns); }
  bool empty() const { return size() == 0; }
  // A Row points into the cells. `c.query(...)[0].integer(0)` reads it within one expression; first()
  // is kept in a variable (`if (auto row = r.first())`), where a temporary Result would already be
  // gone, so first() of a temporary does not compile: keep the Result in a variable first.
  Row operator[](std::size_t row) const { return Row(cells.data() + row * static_cast<std::size_t>(columns)); }
  std::optional<Row> first() const& { return empty() ? std::nullopt : std::optional<Row>((*this)[0]); }
  std::optional<Row> first() const&& = delete;
};

// SQL text joined at compile time by concat(); it converts to the std::string_view query() takes.
template <std::size_t N>
struct Sql {
  char text[N + 1] = {};
  constexpr operator std::string_view() const noexcept { return {text, N}; }
};

namespace detail {
template <class T>
struct SqlLength;
template <std::size_t N>
struct SqlLength<char[N]> : std::integral_constant<std::size_t, N - 1> {};  // a literal, without its NUL
template <std::size_t N>
struct SqlLength<Sql<N>> : std::integral_constant<std::size_t, N> {};
}  // namespace detail

// Joins string literals and other concat() constants into one constant statement:
//   constexpr auto kFind = db::concat(kColumns, " WHERE id = $1");
template <class... Parts>
consteval auto concat(const Parts&... parts) {
  Sql<(detail::SqlLength<Parts>::value + ...)> joined;
  std::size_t at = 0;
  auto append = [&](std::string_view part) {
    for (char c : part) joined.text[at++] = c;
  };
  (append(std::string_view(parts)), ...);
  return joined;
}

class Connection {
 public:
  virtual ~Connection() = default;
  // The dialect this connection speaks.
  virtual Dialect dialect() const noexcept = 0;
  // Of a statement the dialects spell differently, the text for this connection.
  std::string_view sql(std::string_view sqlite, std::string_view postgres) const noexcept {
    return dialect() == Dialect::postgres ? postgres : sqlite;
  }
  // Runs one statement (prepared once per connection and cached by its text) with bound parameters.
  virtual Result query(std::string_view sql, std::span<const Value> params) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual void execute_script(std::string_view sql) = 0;

  template <class... Args>
  Result query(std::string_view sql, const Args&... args) {
    const Value values[sizeof...(Args) + 1] = {to_value(args)..., Null{}};
    return query(sql, std::span<const Value>(values, sizeof...(Args)));
  }

  // A write whose answer the transaction does not wait for. PostgreSQL sends it with the next
  // statement or with the COMMIT, in one round trip (libpq's pipeline mode), so it costs the
  // transaction no round trip of its own; SQLite, where a statement costs none, runs it at once.
  // Either way it runs in order: a later statement of the transaction sees what it wrote, and its
  // error fails the transaction (thrown by that later statement, or by the commit). `then` gets its
  // result once it is known: at once on SQLite, after the COMMIT or that statement on PostgreSQL
  // (which sends them early, carried by a statement of no effect, when a few hundred wait).
  using Then = std::function<void(const Result&)>;
  virtual void defer(std::string_view sql, std::vector<Value> params, Then then) {
    auto result = query(sql, std::span<const Value>(params));
    if (then) then(result);
  }
  template <class... Args>
  void defer(Then then, std::string_view sql, const Args&... args) {
    defer(sql, std::vector<Value>{to_value(args)...}, std::move(then));
  }

 private:
  static Value to_value(const Value& v) { return v; }
  static Value to_value(std::nullopt_t) { return Null{}; }
  static Value to_value(std::string_view s) { return std::string(s); }
  static Value to_value(const std::string& s) { return s; }
  static Value to_value(const char* s) { return std::string(s); }
  static Value to_value(bool b) { return std::int64_t{b ? 1 : 0}; }
  template <class T>
    requires std::is_integral_v<T>
  static Value to_value(T i) {
    return static_cast<std::int64_t>(i);
  }
  template <class T>
  static Value to_value(const std::optional<T>& o) {
    return o ? to_value(*o) : Value(Null{});
  }
};

class Database {
 public:
  using Body = std::function<void(Connection&)>;
  using Done = std::function<void(std::exception_ptr)>;

  virtual ~Database() = default;
  virtual Dialect dialect() const noexcept = 0;  // which migrations apply (connections know it too)

  // Runs fn in a write transaction: committed when fn returns, rolled back when it throws.
  // A transaction that fails with a retryable error (serialization failure, deadlock, busy) is rolled
  // back and fn runs again from the start, a bounded number of times; after the last attempt the
  // caller gets common::Error("unavailable") (503), never the raw error. So fn must keep its effects
  // inside the transaction (or be harmless to repeat) and must not keep state between attempts.
  template <class F>
  auto transaction(F&& fn) {
    return run_with_result(fn, [this](const Body& body) { run_retrying(&Database::run_transaction, body); });
  }
  // Runs fn on a connection in a read-only snapshot (retried like transaction()).
  template <class F>
  auto read(F&& fn) {
    return run_with_result(fn, [this](const Body& body) { run_retrying(&Database::run_read, body); });
  }
  // A read of exactly one statement, which is its own snapshot: no transaction around it, so on
  // PostgreSQL it is one round trip where read() takes three (BEGIN, the statement, COMMIT). fn must
  // run one statement only; two would each see their own snapshot. Retried like read().
  template <class F>
  auto read_statement(F&& fn) {
    return run_with_result(fn, [this](const Body& body) { run_retrying(&Database::run_statement, body); });
  }

  // A number that changes whenever a write transaction of this process commits, for caches of what
  // was read; on PostgreSQL also whenever another node changes the catalogue (its LISTEN/NOTIFY
  // listener, postgres.hpp). nullopt when no such number can be trusted right now (PostgreSQL while
  // the listener is not connected): keep nothing then. Read it before reading the data.
  virtual std::optional<std::uint64_t> write_generation() const noexcept { return std::nullopt; }

  // A number that moves whenever any node changes the webhook endpoints (PostgreSQL: migration 015's
  // trigger, heard by the same listener as the catalogue's, whose (re)connections move it too), for a
  // node's cache of what is subscribed; nullopt while it cannot be trusted (the listener is not
  // connected): read the table then. The cache's owner retires it itself for its own process's
  // changes, so where one process makes every change (SQLite) this is 0 for ever.
  virtual std::optional<std::uint64_t> endpoints_generation() const noexcept { return 0; }

  // PostgreSQL's listener for other nodes' catalogue changes (postgres.hpp), for /metrics and tests:
  // whether it is connected, how many notifications and connections it has had, and how many of the
  // notifications were this node's own catalogue changes coming back (not counted as changes). All
  // zero where there is none (SQLite, or before the first write_generation()).
  struct ListenerStats {
    bool connected = false;
    std::uint64_t notifications = 0;
    std::uint64_t connects = 0;
    std::uint64_t own = 0;
  };
  virtual ListenerStats listener_stats() noexcept { return {}; }

  // Capabilities that let the HTTP server skip thread hand-offs (docs/architecture.md, "Threads"):
  // True when reads are served from this process's memory (SQLite's page cache: microseconds), so a
  // short read may run inline on an I/O thread (http::Runs::local_read); false when a read is a
  // network round trip (PostgreSQL).
  virtual bool reads_locally() const noexcept { return false; }
  // True when submit() can hand a write transaction to the database's own writer without any thread
  // waiting for it (SQLite's single writer thread, which commits in groups).
  virtual bool queues_writes() const noexcept { return false; }
  // Only when queues_writes(): `body` runs on the writer in the next group, and `done` runs there too
  // once the group is committed (with null) or the body or the commit failed (with the exception; a
  // busy database is common::Error "unavailable", as transaction() reports it). The body runs once:
  // no retry. `done` must be quick and must not throw (it typically posts to the caller's executor).
  virtual void submit(Body body, Done done);

  // True when the database answers (for /readyz).
  virtual bool ping() noexcept = 0;

  struct PoolStats {
    std::size_t in_use = 0;
    std::size_t size = 0;  // the most connections the pool opens
  };
  virtual PoolStats pool_stats() noexcept = 0;

 protected:
  virtual void run_transaction(const Body& body) = 0;
  virtual void run_read(const Body& body) = 0;
  // Where a statement outside a transaction costs nothing more than inside one (SQLite), run_read.
  virtual void run_statement(const Body& body) { run_read(body); }

 private:
  // The one retry loop for retryable errors, whatever the dialect (database.cpp).
  void run_retrying(void (Database::*run)(const Body&), const Body& body);

  template <class F, class Runner>
  static auto run_with_result(F& fn, Runner runner) {
    using R = std::invoke_result_t<F&, Connection&>;
    if constexpr (std::is_void_v<R>) {
      runner(Body([&fn](Connection& c) { fn(c); }));
    } else {
      std::optional<R> result;
      runner(Body([&fn, &result](Connection& c) { result.emplace(fn(c)); }));
      return std::move(*result);
    }
  }
};

struct Options {
  std::size_t pool_size = 8;                       // connections per process
  // Threads outside the handler pool that may read inline (the I/O threads, http::Runs::local_read).
  // SQLite, which serves those reads, opens one more read connection for each, so they never wait
  // for a connection the handler pool holds; PostgreSQL never reads there and ignores it.
  std::size_t inline_readers = 0;
  std::chrono::milliseconds busy_timeout{5'000};   // SQLite's lock wait; also the wait for a free connection
  std::chrono::seconds connect_timeout{5};         // PostgreSQL, unless the URL sets connect_timeout
};

// A case-insensitive "contains" pattern for `lower(column) LIKE $n ESCAPE '\'`: "Ann_" -> "%ann\_%",
// with LIKE's own characters escaped so a search never turns into a wildcard.
std::string contains_pattern(std::string_view search);
// The same for an optional search: no search, no pattern (bound as NULL, "any").
std::optional<std::string> contains_pattern(const std::optional<std::string>& search);

// What a caller gets when the database stays busy (the retries ran out, or a submitted write met a
// lock): 503 unavailable, never the raw error.
std::exception_ptr too_busy();

// Opens the database a URL names: sqlite://relative/path.db, sqlite:///absolute/path.db, or
// postgresql://user:password@host:port/dbname?sslmode=require (also postgres://; libpq's URI syntax).
std::unique_ptr<Database> open(const std::string& url, const Options& options = {});
// The file a sqlite:// URL names (":memory:" for an in-memory database); nullopt for any other URL.
std::optional<std::string> sqlite_path(const std::string& url);

}  // namespace db
