#include "db/postgres.hpp"

#include "common/error.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <unordered_map>
#include <utility>

namespace db {
namespace {

// Type OIDs of the result columns read as integers (PostgreSQL's pg_type.dat; stable since 7.x).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;

constexpr const char* kUnavailable = "The database is not available right now; try again";
// The longest any statement of the pool's connections may run (PostgresConnection::bound_waits).
constexpr std::chrono::milliseconds kStatementLimit{60'000};
// READ COMMITTED for writes, one snapshot for reads (PostgresDatabase::run_transaction, run_read).
constexpr const char* kBeginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED";
constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

struct ClearResult {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;

// libpq's messages end in a newline and may span lines ("...failed: Connection refused\n\tIs the
// server running..."): one line each, for the log.
std::string trimmed(const char* text) {
  std::string s;
  for (const char* p = text ? text : ""; *p != '\0'; ++p) {
    bool space = *p == '\n' || *p == '\t' || *p == ' ';
    if (!space) s += *p;
    else if (!s.empty() && s.back() != ' ') s += ' ';
  }
  if (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// SQLSTATE classes that mean "the server is going or gone" (08 connection exception, 57P0x shutdown)
// as opposed to "this statement is wrong".
bool connection_lost(std::string_view state) { return state.starts_with("08") || state.starts_with("57P"); }
// Out of resources (53: too many connections, disk full), cancelled (57014), system errors (58):
// the statement may well work a moment later.
bool temporarily_unavailable(std::string_view state) {
  return state.starts_with("53") || state.starts_with("57") || state.starts_with("58");
}

// A connection that cannot be opened; the pool turns it into 503 "unavailable", start-up into a message.
class ConnectFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void log_notice(void*, const char* message) { spdlog::debug("PostgreSQL: {}", trimmed(message)); }

// A new connection, or ConnectFailed with libpq's reason. `application_name` tells the pool's
// connections ("orderd") from the listener's in pg_stat_activity.
PGconn* connect_to(const std::string& url, std::chrono::seconds connect_timeout, const char* application_name) {
  // expand_dbname: the dbname value is the whole URI. Keywords before it are defaults the URI
  // may override (its own ?connect_timeout=, ?application_name=).
  auto timeout = std::to_string(connect_timeout.count());
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), application_name, url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) throw std::bad_alloc();
  if (PQstatus(conn) != CONNECTION_OK) {
    auto message = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    throw ConnectFailed(message);
  }
  PQsetNoticeProcessor(conn, log_notice, nullptr);
  return conn;
}

// Migration 014's trigger notifies the first channel with every change to products, migration 015's
// the second with every change to webhook endpoints.
constexpr const char* kCatalogChannel = "orderd_catalog";
constexpr const char* kEndpointsChannel = "orderd_webhook_endpoints";
constexpr const char* kListen = "LISTEN orderd_catalog; LISTEN orderd_webhook_endpoints";
constexpr auto kListenerRetry = std::chrono::seconds(1);
constexpr auto kListenerPoll = std::chrono::milliseconds(250);  // how soon the listener sees a stop

// A connection LISTENing on the catalogue's channel, or null (logged) while the database cannot be
// reached or refuses.
PGconn* listening_connection(const std::string& url, std::chrono::seconds connect_timeout) {
  try {
    PGconn* conn = connect_to(url, connect_timeout, "orderd-listener");
    ResultPtr r(PQexec(conn, kListen));
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) return conn;
    spdlog::warn("PostgreSQL change listener: LISTEN failed: {}", trimmed(PQresultErrorMessage(r.get())));
    PQfinish(conn);
  } catch (const ConnectFailed& e) {
    spdlog::warn("PostgreSQL change listener cannot connect: {}", e.what());
  }
  return nullptr;
}

// Whether the connection's socket has something to read within `timeout` (or was closed).
bool readable(PGconn* conn, std::chrono::milliseconds timeout) {
  pollfd p{PQsocket(conn), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

class PostgresConnection final : public Connection {
 public:
  // `backends`, when given, knows this connection's server process while it is open.
  PostgresConnection(const std::string& url, std::chrono::seconds connect_timeout, Backends* backends = nullptr)
      : conn_(connect_to(url, connect_timeout, "orderd")), backends_(backends), pid_(PQbackendPID(conn_)) {
    if (backends_) backends_->add(pid_);
  }

  // Bounds every wait of this connection's statements (docs/scaling.md, "When something fails"): a
  // lock another session holds is waited for at most `lock_wait` (55P03), a statement runs at most
  // kStatementLimit (57014); both answer 503 `unavailable`. Without them a request behind a lock held by hand waited
  // forever, and a handler pool's worth of them stopped every route. Set per session, not in the
  // startup packet, which PgBouncer refuses to carry. Migrations lift both (db::migrate).
  void bound_waits(std::chrono::milliseconds lock_wait) {
    execute_script("SET lock_timeout = " + std::to_string(lock_wait.count()) +
                   "; SET statement_timeout = " + std::to_string(kStatementLimit.count()));
  }

  ~PostgresConnection() override {
    PQfinish(conn_);
    if (backends_) backends_->remove(pid_);
  }
  Dialect dialect() const noexcept override { return Dialect::postgres; }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Result query(std::string_view sql, std::span<const Value> params) override {
    const Prepared& st = prepare(sql);
    auto text = text_params(st, params);
    ResultPtr r = deferred_.empty() && begin_ == nullptr
                      ? ResultPtr(PQexecPrepared(conn_, st.name.c_str(), st.params, text.values.data(), nullptr, nullptr, 0))
                      : pipeline(&st, text.values.data());
    auto status = PQresultStatus(r.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail(r.get(), "query failed");
    return to_result(r.get());
  }

  // Prepared now (once per connection), sent with the next statement or the COMMIT (pipeline()).
  void defer(std::string_view sql, std::vector<Value> params, Then then) override {
    const Prepared& st = prepare(sql);
    check_count(st, params.size());  // here, where the statement is written, not where it is sent
    deferred_.push_back({&st, std::move(params), std::move(then)});
    // A pipeline's answers wait in the socket until it is all sent: a bounded number of them cannot
    // fill it, so the server never stops reading while libpq is still writing.
    if (deferred_.size() >= kMostDeferred) flush();
  }

  // A script cannot go in a pipeline: what waits to be sent goes first, carried by a statement of no effect.
  void execute_script(std::string_view sql) override {
    if (begin_ != nullptr || !deferred_.empty()) query("SELECT 1", std::span<const Value>{});
    exec(std::string(sql));
  }

  // The transaction's BEGIN (a string literal), kept until its first statement and sent with it in
  // one pipeline: no round trip of its own. Until that statement is answered nothing of the
  // transaction can have taken effect (unstarted()), unless the COMMIT went with it.
  void begin(const char* sql) noexcept {
    begin_ = sql;
    unstarted_ = true;
  }
  // Whether a failure now leaves nothing done: the BEGIN is not yet answered, and no COMMIT was sent.
  // The body can then run again on another connection (run()).
  bool unstarted() const noexcept { return unstarted_; }

  // COMMIT of a transaction that already failed answers ROLLBACK without an error: report it. A
  // transaction that sent nothing has nothing to commit.
  void commit() {
    if (begin_ != nullptr && deferred_.empty()) {
      begin_ = nullptr;
      unstarted_ = false;
      return;
    }
    auto r = deferred_.empty() ? exec("COMMIT") : pipeline(nullptr, nullptr);
    if (std::string_view(PQcmdStatus(r.get())) == "ROLLBACK") {
      throw std::runtime_error("the transaction failed earlier and was rolled back");
    }
  }

  // Sends what was deferred, carried by a statement of no effect: at the end of a body outside a
  // transaction (run_statement), where nothing follows to carry it, and when kMostDeferred wait.
  void flush() {
    if (!deferred_.empty()) query("SELECT 1", std::span<const Value>{});
  }
  // A transaction that failed sends nothing it deferred, nor a BEGIN that was waiting for a statement.
  void forget_deferred() noexcept {
    deferred_.clear();
    begin_ = nullptr;
  }

  // The connection is unusable (the server went away, or it is stuck mid-transaction).
  bool broken() const noexcept { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  bool idle() const noexcept { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }

 private:
  struct Prepared {
    std::string name;
    int params = 0;
  };

  static constexpr std::size_t kMostDeferred = 256;

  // A statement deferred until the next one (defer()).
  struct Deferred {
    const Prepared* statement;  // in statements_, whose nodes never move
    std::vector<Value> params;
    Then then;
  };

  // libpq's text parameters (every one in text format: the server parses it as the type it inferred);
  // `values` points into `numbers` and the params.
  struct TextParams {
    std::vector<std::string> numbers;
    std::vector<const char*> values;
  };
  static void check_count(const Prepared& st, std::size_t given) {
    if (given < static_cast<std::size_t>(st.params)) {
      throw std::invalid_argument("missing parameter $" + std::to_string(given + 1));
    }
  }
  static TextParams text_params(const Prepared& st, std::span<const Value> params) {
    check_count(st, params.size());
    TextParams text{std::vector<std::string>(static_cast<std::size_t>(st.params)),
                    std::vector<const char*>(static_cast<std::size_t>(st.params), nullptr)};
    for (std::size_t i = 0; i < text.values.size(); ++i) {
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        text.numbers[i] = std::to_string(*n);
        text.values[i] = text.numbers[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        // PostgreSQL text cannot hold U+0000; libpq would silently cut the value there.
        if (s->find('\0') != std::string::npos) {
          throw common::Error("validation_error", "Text may not contain the NUL character (U+0000)");
        }
        text.values[i] = s->c_str();
      }
    }
    return text;
  }

  static Result to_result(PGresult* r) {
    Result result;
    result.columns = PQnfields(r);
    int rows = PQntuples(r);
    result.cells.reserve(static_cast<std::size_t>(rows) * static_cast<std::size_t>(result.columns));
    for (int row = 0; row < rows; ++row) {
      for (int c = 0; c < result.columns; ++c) result.cells.push_back(cell(r, row, c));
    }
    result.affected_rows = integer(PQcmdTuples(r));
    return result;
  }

  // The waiting BEGIN, the deferred statements, then `last` (with its `values`; the COMMIT when null),
  // in one pipeline: one round trip. Returns the answer to `last`; throws the first error, after which
  // the server skipped the rest (and an open transaction is left failed, for run() to roll back). The
  // deferred statements' `then` get their results once all went well.
  ResultPtr pipeline(const Prepared* last, const char* const* values) {
    auto deferred = std::move(deferred_);
    deferred_.clear();
    const char* begin = std::exchange(begin_, nullptr);
    if (last == nullptr) unstarted_ = false;  // a COMMIT that is lost on the way may have committed
    std::vector<TextParams> texts;
    texts.reserve(deferred.size());
    for (const auto& d : deferred) texts.push_back(text_params(*d.statement, d.params));
    if (PQenterPipelineMode(conn_) != 1) lost(nullptr, "cannot enter pipeline mode");
    bool sent = begin == nullptr || PQsendQueryParams(conn_, begin, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    for (std::size_t i = 0; i < deferred.size() && sent; ++i) {
      const auto& st = *deferred[i].statement;
      sent = PQsendQueryPrepared(conn_, st.name.c_str(), st.params, texts[i].values.data(), nullptr, nullptr, 0) == 1;
    }
    if (sent) {
      sent = (last ? PQsendQueryPrepared(conn_, last->name.c_str(), last->params, values, nullptr, nullptr, 0)
                   : PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0)) == 1;
    }
    if (!sent || PQpipelineSync(conn_) != 1) lost(nullptr, "cannot send a pipeline");
    std::size_t first = begin != nullptr ? 1 : 0;  // the deferred statements' first answer
    std::vector<ResultPtr> answers;
    for (std::size_t i = 0; i <= first + deferred.size(); ++i) answers.push_back(next_answer());
    ResultPtr sync(PQgetResult(conn_));
    if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC || PQexitPipelineMode(conn_) != 1) {
      lost(sync.get(), "the pipeline did not end");
    }
    for (auto& answer : answers) {
      auto status = PQresultStatus(answer.get());
      if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail(answer.get(), "query failed");
    }
    unstarted_ = false;
    for (std::size_t i = 0; i < deferred.size(); ++i) {
      if (deferred[i].then) deferred[i].then(to_result(answers[first + i].get()));
    }
    return std::move(answers.back());
  }

  // One statement's answer in a pipeline, and the null that ends it.
  ResultPtr next_answer() {
    ResultPtr answer(PQgetResult(conn_));
    if (!answer) lost(nullptr, "a pipeline's answer is missing");
    while (PGresult* more = PQgetResult(conn_)) PQclear(more);
    return answer;
  }

  // The connection is in a state no ROLLBACK can repair: it goes, and the caller learns why.
  [[noreturn]] void lost(const PGresult* r, std::string_view context) {
    broken_ = true;
    spdlog::warn("PostgreSQL pipeline failed ({}): {}", context, trimmed(PQerrorMessage(conn_)));
    fail(r, context);
  }

  ResultPtr exec(const std::string& sql) {
    ResultPtr r(PQexec(conn_, sql.c_str()));
    auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r.get(), "statement failed");
    return r;
  }

  // Prepared once per connection (unnamed parameter types: the server infers them from the SQL).
  const Prepared& prepare(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    std::string text(sql);
    Prepared st{"orderd_" + std::to_string(++prepared_), 0};
    ResultPtr p(PQprepare(conn_, st.name.c_str(), text.c_str(), 0, nullptr));
    if (PQresultStatus(p.get()) != PGRES_COMMAND_OK) fail(p.get(), "cannot prepare statement");
    ResultPtr d(PQdescribePrepared(conn_, st.name.c_str()));
    if (PQresultStatus(d.get()) != PGRES_COMMAND_OK) fail(d.get(), "cannot describe statement");
    st.params = PQnparams(d.get());
    return statements_.emplace(std::move(text), std::move(st)).first->second;
  }

  [[noreturn]] void fail(const PGresult* r, std::string_view context) {
    const char* state_field = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string state = state_field ? state_field : "";
    std::string message = trimmed(r ? PQresultErrorMessage(r) : nullptr);
    if (message.empty()) message = trimmed(PQerrorMessage(conn_));
    if (PQstatus(conn_) != CONNECTION_OK || connection_lost(state)) {
      broken_ = true;
      spdlog::warn("PostgreSQL connection lost ({}): {}", state.empty() ? "no SQLSTATE" : state, message);
      throw common::Error("unavailable", kUnavailable);
    }
    if (temporarily_unavailable(state)) {  // 57014 too: a statement past kStatementLimit
      spdlog::warn("PostgreSQL is unavailable ({}): {}", state, message);
      throw common::Error("unavailable", kUnavailable);
    }
    if (state == "55P03") {  // a lock another session held past lock_timeout: the request may be sent again
      spdlog::warn("a lock was not free in time ({}): {}", state, message);
      throw common::Error("unavailable", kUnavailable);
    }
    message = std::string(context) + ": " + message + " [" + state + "]";
    if (state == "23505") {
      const char* constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
      throw Error(Error::Kind::unique_violation, message, constraint ? constraint : "");
    }
    if (state == "23514") throw Error(Error::Kind::check_violation, message);
    if (state == "23503") throw Error(Error::Kind::foreign_key_violation, message);
    // serialization_failure, deadlock_detected: the transaction as a whole may simply run again.
    if (state == "40001" || state == "40P01") throw Error(Error::Kind::retryable, message);
    throw std::runtime_error(message);
  }

  static std::int64_t integer(const char* text) {
    std::int64_t value = 0;
    std::string_view s(text ? text : "");
    if (s.empty()) return 0;
    if (std::from_chars(s.data(), s.data() + s.size(), value).ec != std::errc{}) {
      throw std::runtime_error("not an integer: " + std::string(s));
    }
    return value;
  }

  static Value cell(const PGresult* r, int row, int c) {
    if (PQgetisnull(r, row, c)) return Null{};
    const char* text = PQgetvalue(r, row, c);
    switch (PQftype(r, c)) {
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kOidOid:
        return integer(text);
      case kBoolOid:
        return std::int64_t{text[0] == 't' ? 1 : 0};
      default:
        return std::string(text, static_cast<std::size_t>(PQgetlength(r, row, c)));
    }
  }

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  PGconn* conn_ = nullptr;
  Backends* backends_ = nullptr;
  int pid_ = 0;
  bool broken_ = false;
  const char* begin_ = nullptr;  // begin()
  bool unstarted_ = false;
  int prepared_ = 0;
  std::unordered_map<std::string, Prepared, Hash, std::equal_to<>> statements_;
  std::vector<Deferred> deferred_;
};

}  // namespace

void Backends::add(int pid) {
  std::lock_guard lock(mutex_);
  pids_.push_back(pid);
}

void Backends::remove(int pid) {
  std::lock_guard lock(mutex_);
  std::erase(pids_, pid);
}

bool Backends::contains(int pid) const {
  std::lock_guard lock(mutex_);
  return std::find(pids_.begin(), pids_.end(), pid) != pids_.end();
}

PostgresDatabase::PostgresDatabase(std::string url, const Options& options)
    : url_(std::move(url)),
      options_(options),
      pool_(
          [this]() -> std::unique_ptr<Connection> {
            try {
              auto c = std::make_unique<PostgresConnection>(url_, options_.connect_timeout, &backends_);
              c->bound_waits(options_.busy_timeout);
              return c;
            } catch (const ConnectFailed& e) {
              // Every request tries while the database is away: a line per 10 s, not per request.
              if (auto left_out = connect_log_.allow()) {
                spdlog::warn("cannot connect to PostgreSQL: {}{}", e.what(), common::left_out_note(*left_out));
              }
              throw common::Error("unavailable", kUnavailable);
            }
          },
          options.pool_size, options.busy_timeout) {
  // Connect once now, so that a wrong URL, password or database fails at start-up with libpq's reason.
  try {
    PostgresConnection check(url_, options_.connect_timeout);
  } catch (const ConnectFailed& e) {
    throw std::runtime_error("cannot connect to PostgreSQL: " + std::string(e.what()));
  }
}

bool PostgresDatabase::ping() noexcept {
  try {
    read([](Connection& c) { c.query("SELECT 1"); });
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("database ping failed: {}", e.what());
    return false;
  }
}

// READ COMMITTED is enough for orderd's writes: every decision that matters is a conditional UPDATE
// (stock >= q, status = 'pending_payment', payment_in_flight = 0) that PostgreSQL re-checks on the
// latest row version after waiting for its lock, or a unique index. See docs/architecture.md.
// A committed write moves the generation on at once, so this node's own next read never gets a page
// its write made stale (other nodes hear of it through the listener).
void PostgresDatabase::run_transaction(const Body& body) {
  run(kBeginWrite, body);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

// One snapshot for the whole read, so a count and the page it describes agree.
void PostgresDatabase::run_read(const Body& body) { run(kBeginRead, body); }

// Autocommit: the statement is its own snapshot.
void PostgresDatabase::run_statement(const Body& body) { run(nullptr, body); }

// `begin` null: no transaction, for run_statement's lone read. The BEGIN goes with the body's first
// statement (PostgresConnection::begin). A pooled connection may have died while idle (the database
// restarted): a transaction that failed on it before anything of it was answered has done nothing,
// and neither has a lone read, so the connection is dropped and the body runs again on the next one
// (a body may run again anyway, run_retrying); a new one is opened once the idle ones are used up.
void PostgresDatabase::run(const char* begin, const Body& body) {
  for (std::size_t stale = 0;; ++stale) {
    auto lease = pool_.acquire();
    auto& c = static_cast<PostgresConnection&>(*lease);
    if (begin != nullptr) c.begin(begin);
    try {
      body(c);
      if (begin != nullptr) c.commit();
      else c.flush();
      return;
    } catch (...) {
      bool nothing_done = begin == nullptr || c.unstarted();
      c.forget_deferred();
      if (begin != nullptr && !c.broken() && !c.idle()) {
        try {
          c.execute_script("ROLLBACK");
        } catch (const std::exception& e) {
          spdlog::warn("rollback failed: {}", e.what());
        }
      }
      bool broken = c.broken();
      if (broken || !c.idle()) lease.discard();  // `c` is gone after this
      if (nothing_done && broken && stale < options_.pool_size) continue;
      throw;
    }
  }
}

bool PostgresDatabase::start_listener() const noexcept {
  try {
    std::call_once(listener_started_, [this] {
      listener_ = std::jthread([this](const std::stop_token& stop) { listen(stop); });
    });
    return true;
  } catch (const std::exception& e) {  // no thread: nothing is kept, as while it is disconnected
    spdlog::warn("cannot start the PostgreSQL change listener: {}", e.what());
    return false;
  }
}

// A count the listener moves, while it is connected (starting it on the first call).
std::optional<std::uint64_t> PostgresDatabase::heard(const std::atomic<std::uint64_t>& count) const noexcept {
  if (!start_listener() || !listening_.load(std::memory_order_acquire)) return std::nullopt;
  return count.load(std::memory_order_acquire);
}

std::optional<std::uint64_t> PostgresDatabase::write_generation() const noexcept { return heard(generation_); }

std::optional<std::uint64_t> PostgresDatabase::endpoints_generation() const noexcept {
  return heard(endpoints_generation_);
}

Database::ListenerStats PostgresDatabase::listener_stats() noexcept {
  return {listening_.load(), notifications_.load(), connects_.load(), own_notifications_.load()};
}

void PostgresDatabase::listen(const std::stop_token& stop) const {
  std::mutex mutex;
  std::condition_variable_any wake;
  while (!stop.stop_requested()) {
    if (PGconn* conn = listening_connection(url_, options_.connect_timeout)) {
      receive_notifications(conn, stop);
      PQfinish(conn);
    }
    std::unique_lock lock(mutex);
    wake.wait_for(lock, stop, kListenerRetry, [] { return false; });  // until the retry, or a stop
  }
}

// While connected: every notification moves the generation on (retiring every node's pages), and
// so do connecting and losing the connection, since a notification sent while nobody listened is lost.
void PostgresDatabase::receive_notifications(void* connection, const std::stop_token& stop) const {
  auto* conn = static_cast<PGconn*>(connection);
  auto move_on = [this] {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    endpoints_generation_.fetch_add(1, std::memory_order_acq_rel);
  };
  connects_.fetch_add(1);
  move_on();
  listening_.store(true, std::memory_order_release);
  while (!stop.stop_requested()) {
    if (!readable(conn, kListenerPoll)) continue;
    if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) break;
    std::uint64_t received = 0;
    std::uint64_t own = 0;
    bool catalog = false;
    bool endpoints = false;
    while (PGnotify* n = PQnotifies(conn)) {
      std::string_view channel(n->relname);
      if (channel == kCatalogChannel && backends_.contains(n->be_pid)) {
        ++own;
      } else {
        catalog = catalog || channel == kCatalogChannel;
        endpoints = endpoints || channel == kEndpointsChannel;
      }
      PQfreemem(n);
      ++received;
    }
    if (catalog) generation_.fetch_add(1, std::memory_order_acq_rel);
    if (endpoints) endpoints_generation_.fetch_add(1, std::memory_order_acq_rel);
    own_notifications_.fetch_add(own);
    notifications_.fetch_add(received);
  }
  listening_.store(false, std::memory_order_release);
  move_on();
  if (!stop.stop_requested()) {
    spdlog::warn("PostgreSQL change listener lost its connection ({}); no catalogue page is kept until it is back",
                 trimmed(PQerrorMessage(conn)));
  }
}

}  // namespace db
