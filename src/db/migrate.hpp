#pragma once
// Numbered SQL migrations per dialect (src/db/migrations/<dialect>/NNN_name.sql, compiled in),
// applied in order, each in its own transaction, and recorded in schema_migrations.

#include "db/database.hpp"

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
int migrate(Database& database, const std::vector<Migration>& migrations);
inline int migrate(Database& database) { return migrate(database, embedded_migrations(database.dialect())); }

}  // namespace db
