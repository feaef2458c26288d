#include "db/migrate.hpp"

#include "common/clock.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace db {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";
constexpr std::string_view kIsApplied = "SELECT 1 FROM schema_migrations WHERE version = $1";
constexpr std::string_view kRecord = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";
constexpr std::string_view kNewest = "SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1";
// PostgreSQL: nodes starting together take turns. The lock is held until the transaction ends, and
// READ COMMITTED gives the next statement (kIsApplied) a snapshot that sees what the previous holder
// committed, so each migration is applied once. (Concurrent CREATE TABLE IF NOT EXISTS would also
// collide on PostgreSQL's catalog without it.) SQLite needs nothing: BEGIN IMMEDIATE already
// serialises writers.
// A migration may wait for a node's locks and rebuild a large table: it lifts the pool's bounds on
// waits (PostgresConnection::bound_waits) for its own transaction only.
constexpr std::string_view kLockPostgres =
    "SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0;"
    " SELECT pg_advisory_xact_lock(hashtext('orderd schema migrations'))";

void take_turn(Connection& c) {
  if (c.dialect() == Dialect::postgres) c.execute_script(kLockPostgres);
}

}  // namespace

int migrate(Database& database, const std::vector<Migration>& migrations) {
  database.transaction([&](Connection& c) {
    take_turn(c);
    c.execute_script(kCreateTable);
  });
  int applied = 0;
  for (const auto& m : migrations) {
    bool done = database.transaction([&](Connection& c) {
      take_turn(c);
      if (!c.query(kIsApplied, m.version).empty()) return false;
      c.execute_script(m.sql);
      c.query(kRecord, m.version, m.name, common::now_micros());
      return true;
    });
    if (done) {
      spdlog::info("applied migration {}", m.name);
      ++applied;
    }
  }
  return applied;
}

namespace {

std::optional<std::string> ahead_of(const Result& newest, const Migration& known) {
  if (newest.empty() || newest[0].integer(0) <= known.version) return std::nullopt;
  return fmt::format("the database was migrated by a newer orderd: its schema is at migration {} ({}), this orderd "
                     "knows migrations up to {} ({}); run the newer orderd, or restore the database from before the "
                     "upgrade",
                     newest[0].integer(0), newest[0].text(1), known.version, known.name);
}

}  // namespace

std::optional<std::string> newer_schema(Database& database, const std::vector<Migration>& migrations) {
  if (migrations.empty()) return std::nullopt;
  // Where the migrations were written: a read would find no table in a sqlite://:memory: database
  // (`orderd routes`), whose every connection is a database of its own.
  return ahead_of(database.transaction([&](Connection& c) { return c.query(kNewest); }), migrations.back());
}

std::optional<std::string> newer_schema_now(Database& database) {
  const auto& migrations = embedded_migrations(database.dialect());
  if (migrations.empty()) return std::nullopt;
  return ahead_of(database.read_statement([&](Connection& c) { return c.query(kNewest); }), migrations.back());
}

}  // namespace db
