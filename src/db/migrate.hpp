#pragma once
// Numbered SQL migrations per dialect (src/db/migrations/<dialect>/NNN_name.sql, compiled in),
// applied in order, each in its own transaction, and recorded in schema_migrations.

#include "db/database.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace db {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

const std::vector<Migration>& embedded_migrations(Dialect dialect);

// Applies the migrations not yet recorded; returns how many it applied. Safe to run from several
// processes at once: each migration is checked and applied inside one write transaction, on
// PostgreSQL under an advisory lock.
// Callers ask newer_schema whether a newer orderd migrated it.
int migrate(Database& database, const std::vector<Migration>& migrations);
inline int migrate(Database& database) { return migrate(database, embedded_migrations(database.dialect())); }

// Why the database is ahead of `migrations` when a newer orderd migrated it (a rolled-back upgrade):
// its schema may hold what this binary does not keep right. `serve` and the data commands refuse such
// a database; `migrate` says so and never calls it up to date.
std::optional<std::string> newer_schema(Database& database, const std::vector<Migration>& migrations);
inline std::optional<std::string> newer_schema(Database& database) {
  return newer_schema(database, embedded_migrations(database.dialect()));
}
// The same question as one statement on a reader, for a node that is serving: it asks every few
// seconds and stops when the answer is yes (app.cpp, Wiring::watch_schema).
std::optional<std::string> newer_schema_now(Database& database);

}  // namespace db
