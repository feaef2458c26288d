#pragma once
// `orderd backup`: a copy of a SQLite database taken while nodes serve it (docs/reliability.md,
// "Backups"). Copying the files by hand while a node writes can catch the database file and its WAL
// at two different moments; this copy is one snapshot.

#include <cstdint>
#include <string>

namespace db {

struct BackupReport {
  std::uintmax_t bytes = 0;
  std::int64_t schema_version = 0;  // the copy's last migration
  std::string schema_name;
};

// Copies the SQLite database at `source` into the new file `target`: everything committed when the
// copy began, compacted (VACUUM INTO), while writers go on. The copy is written beside `target` as
// `target.partial` (mode 0600 from the start, locked against a second run to the same target, removed
// on an error or on SIGINT, SIGTERM or SIGHUP), checked (PRAGMA quick_check), synced, and only then
// linked as `target`, so `target` is either absent or whole. Never overwrites, never creates `source`.
// Throws std::runtime_error saying what is wrong (`target` exists, its directory does not, another
// backup to it is running, `source` is missing or not an orderd database).
BackupReport backup_sqlite(const std::string& source, const std::string& target);

}  // namespace db
