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
// Warns (newer_schema) when a newer orderd migrated the database.
int migrate(Database& database, const std::vector<Migration>& migrations);
inline int migrate(Database& database) { return migrate(database, embedded_migrations(database.dialect())); }

// Why the database is ahead of `migrations` when a newer orderd migrated it (a rolled-back upgrade):
// its schema may hold what this binary does not keep right. Such a database is still served, as nodes
// of two versions are during a rolling upgrade, but never called up to date.
std::optional<std::string> newer_schema(Database& database, const std::vector<Migration>& migrations);
inline std::optional<std::string> newer_schema(Database& database) {
  return newer_schema(database, embedded_migrations(database.dialect()));
}

}  // namespace db
