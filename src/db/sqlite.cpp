#include "db/sqlite.hpp"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>

namespace db {
namespace {

[[noreturn]] void fail(sqlite3* handle, int rc, std::string_view context) {
  std::string message = std::string(context) + ": " + (handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(Error::Kind::retryable, message);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      throw common::Error("unavailable", "The database cannot be written right now");
    default:
      break;
  }
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: {
      // "UNIQUE constraint failed: users.email" -> constraint "users.email"
      auto colon = message.rfind(": ");
      throw Error(Error::Kind::unique_violation, message, colon == std::string::npos ? "" : message.substr(colon + 2));
    }
    case SQLITE_CONSTRAINT_CHECK:
      throw Error(Error::Kind::check_violation, message);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      throw Error(Error::Kind::foreign_key_violation, message);
    default:
      throw std::runtime_error(message);
  }
}

struct Statement {
  sqlite3_stmt* handle = nullptr;
  std::vector<int> param_index;  // sqlite parameter i+1 takes params[param_index[i]]
};

// Process-wide settings, made once before SQLite initialises itself. Memory statistics off: with them
// on, every allocation SQLite makes takes one global mutex, which the I/O threads, the workers and
// the writer then contend for (a tenth of a product-list request's time under load, in perf).
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
      spdlog::debug("SQLite was initialised before orderd could configure it; memory statistics stay on");
    }
  });
}

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(const std::string& path, std::chrono::milliseconds busy_timeout) {
    configure_sqlite_once();
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      throw std::runtime_error("cannot open SQLite database '" + path + "': " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
    // WAL: readers never block the writer. synchronous=NORMAL in WAL keeps every commit across a
    // process crash (kill -9); only an OS crash or power loss may lose the last commits.
    execute_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  }

  Dialect dialect() const noexcept override { return Dialect::sqlite; }
  sqlite3* handle() const noexcept { return db_; }

  ~SqliteConnection() override {
    for (auto& [sql, st] : statements_) sqlite3_finalize(st.handle);
    sqlite3_close(db_);
  }

  Result query(std::string_view sql, std::span<const Value> params) override {
    Statement& st = prepare(sql);
    struct Reset {
      sqlite3_stmt* h;
      ~Reset() {
        sqlite3_reset(h);
        sqlite3_clear_bindings(h);
      }
    } reset{st.handle};
    for (std::size_t i = 0; i < st.param_index.size(); ++i) {
      auto index = static_cast<std::size_t>(st.param_index[i]);
      if (index >= params.size()) throw std::invalid_argument("missing parameter $" + std::to_string(index + 1));
      bind(st.handle, static_cast<int>(i + 1), params[index]);
    }
    Result result;
    result.columns = sqlite3_column_count(st.handle);
    for (;;) {
      int rc = sqlite3_step(st.handle);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) fail(db_, rc, "query failed");
      for (int c = 0; c < result.columns; ++c) result.cells.push_back(column(st.handle, c));
    }
    result.affected_rows = sqlite3_changes64(db_);
    return result;
  }

  void execute_script(std::string_view sql) override {
    std::string text(sql);
    char* error = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      fail(nullptr, rc, message);
    }
  }

 private:
  Statement& prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    Statement st;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &st.handle, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, "cannot prepare statement");
    int count = sqlite3_bind_parameter_count(st.handle);
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(st.handle, i);
      int number = 0;
      if (name == nullptr || name[0] != '$' ||
          std::from_chars(name + 1, name + std::strlen(name), number).ec != std::errc{} || number < 1) {
        sqlite3_finalize(st.handle);
        throw std::invalid_argument("SQL parameters must be written $1, $2, ...");
      }
      st.param_index.push_back(number - 1);
    }
    return statements_.emplace(std::string(sql), st).first->second;
  }

  static void bind(sqlite3_stmt* st, int index, const Value& value) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<Null>(value)) rc = sqlite3_bind_null(st, index);
    else if (const auto* i = std::get_if<std::int64_t>(&value)) rc = sqlite3_bind_int64(st, index, *i);
    else {
      const auto& s = std::get<std::string>(value);
      rc = sqlite3_bind_text64(st, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) throw std::runtime_error("cannot bind parameter: " + std::string(sqlite3_errstr(rc)));
  }

  static Value column(sqlite3_stmt* st, int c) {
    switch (sqlite3_column_type(st, c)) {
      case SQLITE_NULL: return Null{};
      case SQLITE_INTEGER: return static_cast<std::int64_t>(sqlite3_column_int64(st, c));
      default: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        return std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
      }
    }
  }

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Statement, Hash, std::equal_to<>> statements_;
};

std::string prepare_path(std::string path) {
  if (path.empty()) throw std::runtime_error("sqlite:// URL needs a file path, e.g. sqlite://var/orderd.db");
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  return path;
}

// Runs a body between BEGIN and COMMIT, rolling back on any exception.
void in_transaction(Connection& c, std::string_view begin, const std::function<void(Connection&)>& body) {
  c.query(begin);  // query(): prepared once per connection, unlike execute_script()
  try {
    body(c);
    c.query("COMMIT");
  } catch (...) {
    try {
      c.query("ROLLBACK");
    } catch (const std::exception& e) {
      spdlog::warn("rollback failed: {}", e.what());
    }
    throw;
  }
}

}  // namespace

// One write transaction handed to the writer thread, and its outcome: either a caller waiting in
// run_transaction() (body points at its body; woken through `finished`) or one that went on with
// submit() (the job owns its body and calls `on_done`).
struct SqliteDatabase::Job {
  const Body* body = nullptr;
  Body owned_body;
  Done on_done;
  std::exception_ptr error;
  bool done = false;
  std::condition_variable finished;
};

namespace {

// What a submitted job's caller is told: a busy database the way run_retrying() reports it.
std::exception_ptr as_reported(std::exception_ptr error) {
  if (!error) return error;
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    if (e.kind() == Error::Kind::retryable) {
      spdlog::warn("write transaction failed with a retryable error: {}", e.what());
      return too_busy();
    }
  } catch (...) {
  }
  return error;
}

}  // namespace

SqliteDatabase::SqliteDatabase(std::string path, const Options& options)
    : path_(prepare_path(std::move(path))),
      options_(options),
      pool_([this] { return std::make_unique<SqliteConnection>(path_, options_.busy_timeout); },
            options.pool_size + options.inline_readers, options.busy_timeout),
      checkpoint_connection_(std::make_unique<SqliteConnection>(path_, options.busy_timeout)),  // a bad path fails here
      writer_connection_(std::make_unique<SqliteConnection>(path_, options.busy_timeout)) {
  // A WAL hook replaces SQLite's automatic checkpoint on this connection (sqlite3_wal_hook).
  sqlite3_wal_hook(static_cast<SqliteConnection&>(*writer_connection_).handle(), &SqliteDatabase::wal_committed, this);
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
  writer_ = std::thread([this] { write_loop(); });
}

SqliteDatabase::~SqliteDatabase() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  writer_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_wanted_.notify_all();
  checkpointer_.join();
}

// Runs on the writer thread after each commit, with the number of pages in the WAL.
int SqliteDatabase::wal_committed(void* self, sqlite3* handle, const char*, int pages) {
  constexpr int kCheckpointPages = 1000;  // SQLite's own default for its automatic checkpoint
  if (pages >= 4 * kCheckpointPages) {
    // The checkpointer cannot finish while the writer never pauses (a checkpoint that runs beside
    // commits never catches up with them, so the WAL is never started over): the writer does it
    // itself, between two commits, as SQLite's automatic checkpoint would. The WAL stays bounded.
    sqlite3_wal_checkpoint_v2(handle, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kCheckpointPages) {
    auto& database = *static_cast<SqliteDatabase*>(self);
    std::lock_guard lock(database.checkpoint_mutex_);
    if (!database.checkpoint_due_) {
      database.checkpoint_due_ = true;
      database.checkpoint_wanted_.notify_one();
    }
  }
  return SQLITE_OK;
}

void SqliteDatabase::checkpoint_loop() {
  auto* handle = static_cast<SqliteConnection&>(*checkpoint_connection_).handle();
  std::unique_lock lock(checkpoint_mutex_);
  for (;;) {
    checkpoint_wanted_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_due_; });
    if (checkpoint_stopping_) return;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for a lock, never blocks the writer.
    int rc = sqlite3_wal_checkpoint_v2(handle, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("WAL checkpoint failed: {}", sqlite3_errmsg(handle));
    lock.lock();
    checkpoint_due_ = false;  // the writer asks again after its next commit if the WAL is still long
  }
}

bool SqliteDatabase::ping() noexcept {
  try {
    auto c = pool_.acquire();
    c->query("SELECT 1");
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("database ping failed: {}", e.what());
    return false;
  }
}

void SqliteDatabase::run_transaction(const Body& body) {
  if (std::this_thread::get_id() == writer_.get_id()) {
    // A body that opens another write transaction would wait for itself forever.
    throw std::logic_error("a write transaction cannot be opened inside another one");
  }
  Job job;
  job.body = &body;
  std::unique_lock lock(queue_mutex_);
  if (stopping_) throw common::Error("unavailable", "The database is shutting down");
  queue_.push_back(&job);
  queued_.notify_one();
  job.finished.wait(lock, [&] { return job.done; });
  if (job.error) std::rethrow_exception(job.error);
}

void SqliteDatabase::submit(Body body, Done done) {
  auto job = std::make_unique<Job>();
  job->owned_body = std::move(body);
  job->body = &job->owned_body;
  job->on_done = std::move(done);
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_) {
      queue_.push_back(job.release());
      queued_.notify_one();
      return;
    }
  }
  job->on_done(std::make_exception_ptr(common::Error("unavailable", "The database is shutting down")));
}

void SqliteDatabase::write_loop() {
  constexpr std::size_t kMaxGroup = 64;  // bounds how long the first caller of a group waits
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to write
    std::deque<Job*> group;
    while (!queue_.empty() && group.size() < kMaxGroup) {
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    commit_group(group);
    // Before anyone hears of the commit: whoever reads the generation after that reads new data.
    commits_.fetch_add(1, std::memory_order_release);
    // Submitted jobs hear of the outcome here, with no thread to wake; waiting callers are woken.
    std::erase_if(group, [](Job* job) {
      if (!job->on_done) return false;
      std::unique_ptr<Job> owned(job);
      try {
        owned->on_done(as_reported(owned->error));
      } catch (const std::exception& e) {
        spdlog::error("a write transaction's completion failed: {}", e.what());
      } catch (...) {
        spdlog::error("a write transaction's completion failed with an unknown exception");
      }
      return true;
    });
    lock.lock();
    for (auto* job : group) job->done = true;
    for (auto* job : group) job->finished.notify_one();
  }
}

// Runs a group of bodies in one transaction: each in a savepoint, so a body that throws is rolled
// back alone and reports its own error; the rest commit together. If the commit itself fails,
// every body of the group gets that error (none of them was written).
void SqliteDatabase::commit_group(std::deque<Job*>& group) {
  auto& c = *writer_connection_;
  try {
    c.query("BEGIN IMMEDIATE");
  } catch (...) {
    for (auto* job : group) job->error = std::current_exception();
    return;
  }
  bool any_written = false;
  for (auto* job : group) {
    try {
      // query(), not execute_script(): these run for every job, and query() prepares them once.
      c.query("SAVEPOINT job");
      try {
        (*job->body)(c);
        c.query("RELEASE job");
        any_written = true;
      } catch (...) {
        job->error = std::current_exception();
        c.query("ROLLBACK TO job");
        c.query("RELEASE job");
      }
    } catch (...) {
      // The savepoint machinery itself failed (I/O error): the transaction cannot be trusted.
      auto failure = std::current_exception();
      for (auto* j : group) j->error = failure;
      try {
        c.execute_script("ROLLBACK");
      } catch (const std::exception& e) {
        spdlog::warn("rollback failed: {}", e.what());
      }
      return;
    }
  }
  try {
    c.query(any_written ? "COMMIT" : "ROLLBACK");
  } catch (...) {
    auto failure = std::current_exception();
    for (auto* job : group) {
      if (!job->error) job->error = failure;
    }
    try {
      c.execute_script("ROLLBACK");
    } catch (const std::exception&) {
      // COMMIT failing usually ended the transaction already.
    }
  }
}

void SqliteDatabase::run_read(const Body& body) {
  auto c = pool_.acquire();
  in_transaction(*c, "BEGIN", body);
}

}  // namespace db
