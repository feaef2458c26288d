#include "db/database.hpp"

#include "common/error.hpp"
#include "db/postgres.hpp"
#include "db/sqlite.hpp"

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

namespace db {
namespace {

// Deadlocks and serialization failures are rare and short-lived: a few quick attempts settle them.
constexpr int kAttempts = 4;
constexpr std::chrono::milliseconds kFirstPause{5};

// A pause that grows with each attempt, with jitter so that the transactions that collided do
// not collide again in lockstep.
std::chrono::microseconds backoff(int attempt) {
  thread_local std::minstd_rand random{std::random_device{}()};
  auto base = std::chrono::duration_cast<std::chrono::microseconds>(kFirstPause) * (1 << (attempt - 1));
  std::uniform_int_distribution<std::int64_t> jitter(base.count() / 2, base.count() * 3 / 2);
  return std::chrono::microseconds(jitter(random));
}

}  // namespace

std::exception_ptr too_busy() {
  return std::make_exception_ptr(common::Error("unavailable", "The database is too busy right now; try again"));
}

void Database::submit(Body, Done) {
  throw std::logic_error("this database has no write queue: use transaction(), or ask queues_writes() first");
}

void Database::run_retrying(void (Database::*run)(const Body&), const Body& body) {
  for (int attempt = 1;; ++attempt) {
    try {
      (this->*run)(body);
      return;
    } catch (const Error& e) {
      if (e.kind() != Error::Kind::retryable) throw;
      if (attempt == kAttempts) {
        spdlog::warn("transaction failed {} times with a retryable error, giving up: {}", attempt, e.what());
        std::rethrow_exception(too_busy());
      }
      spdlog::info("transaction attempt {} failed with a retryable error, running it again: {}", attempt, e.what());
    }
    std::this_thread::sleep_for(backoff(attempt));
  }
}

std::int64_t Row::integer(int column) const {
  if (const auto* v = std::get_if<std::int64_t>(&cells_[column])) return *v;
  throw std::runtime_error("column " + std::to_string(column) + " is not an integer");
}

const std::string& Row::text(int column) const {
  if (const auto* v = std::get_if<std::string>(&cells_[column])) return *v;
  throw std::runtime_error("column " + std::to_string(column) + " is not text");
}

std::optional<std::int64_t> Row::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

std::optional<std::string> Row::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::string contains_pattern(std::string_view search) {
  std::string pattern = "%";
  for (char c : search) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower == '%' || lower == '_' || lower == '\\') pattern += '\\';
    pattern += lower;
  }
  return pattern + "%";
}

std::optional<std::string> contains_pattern(const std::optional<std::string>& search) {
  return search ? std::optional(contains_pattern(std::string_view(*search))) : std::nullopt;
}

std::optional<std::string> sqlite_path(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (!url.starts_with(kSqlite)) return std::nullopt;
  return url.substr(kSqlite.size());
}

std::unique_ptr<Database> open(const std::string& url, const Options& options) {
  if (auto path = sqlite_path(url)) return std::make_unique<SqliteDatabase>(*path, options);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return std::make_unique<PostgresDatabase>(url, options);  // libpq parses the URI itself
  }
  throw std::runtime_error("unsupported database URL (expected sqlite://PATH or postgresql://USER@HOST:PORT/DB)");
}

}  // namespace db
