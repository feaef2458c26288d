#include "db/backup.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace db {
namespace {

namespace fs = std::filesystem;

struct Closer {
  void operator()(sqlite3* handle) const { sqlite3_close_v2(handle); }
};
using Handle = std::unique_ptr<sqlite3, Closer>;

// Opens an existing database file: without SQLITE_OPEN_CREATE a mistyped path is an error, not a new
// empty database.
Handle open_existing(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Handle handle(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error("cannot open the SQLite database '" + path + "': " +
                             (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 5000);  // a checkpoint or a migration holding a lock for a moment
  return handle;
}

// Runs one statement with an optional text parameter; its first row's columns as text (empty when it
// gives no row).
std::vector<std::string> run(sqlite3* handle, const char* sql, const std::string* text = nullptr) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(handle, sql, -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sqlite3_errmsg(handle));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(raw, sqlite3_finalize);
  if (text) sqlite3_bind_text(raw, 1, text->c_str(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
  std::vector<std::string> row;
  int rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) {
    for (int c = 0; c < sqlite3_column_count(raw); ++c) {
      const auto* value = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
      row.emplace_back(value ? value : "");
    }
  } else if (rc != SQLITE_DONE) {
    throw std::runtime_error(sqlite3_errmsg(handle));
  }
  return row;
}

void sync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int error = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot sync '" + path.string() + "': " + std::strerror(error));
  }
  ::close(fd);
}

// A temporary copy and the -wal and -shm files its check may have left.
void remove_copy(const fs::path& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path.string() + suffix, ignored);
}

// The temporary copy goes however the backup ends: after the link `target` holds it.
struct Partial {
  fs::path path;
  explicit Partial(fs::path p) : path(std::move(p)) { remove_copy(path); }  // what a crashed run left
  ~Partial() { remove_copy(path); }
  Partial(const Partial&) = delete;
  Partial& operator=(const Partial&) = delete;
};

}  // namespace

BackupReport backup_sqlite(const std::string& source, const std::string& target) {
  const fs::path to(target);
  std::error_code error;
  if (fs::symlink_status(to, error).type() != fs::file_type::not_found) {
    throw std::runtime_error("'" + target + "' exists; a backup never overwrites a file: name a new one");
  }
  const fs::path directory = to.has_parent_path() ? to.parent_path() : fs::path(".");
  if (!fs::is_directory(directory, error)) {
    throw std::runtime_error("the directory '" + directory.string() + "' for the backup does not exist");
  }

  auto from = open_existing(source);
  bool migrated = false;
  try {
    migrated = !run(from.get(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
                    .empty();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("'" + source + "' is not a SQLite database orderd can read: " + e.what());
  }
  if (!migrated) {
    throw std::runtime_error("'" + source + "' is not a database orderd has migrated (it has no schema_migrations)");
  }
  Partial partial(to.string() + ".partial-" + std::to_string(::getpid()));
  // One read transaction: what had committed when it began, whatever commits while it copies.
  const std::string into = partial.path.string();
  run(from.get(), "VACUUM INTO ?1", &into);
  from.reset();

  BackupReport report;
  {
    auto copy = open_existing(into);
    auto check = run(copy.get(), "PRAGMA quick_check");
    if (check.empty() || check[0] != "ok") {
      throw std::runtime_error("the copy failed its check: " + (check.empty() ? std::string("no answer") : check[0]));
    }
    auto newest = run(copy.get(), "SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1");
    if (newest.size() == 2) {
      report.schema_version = std::stoll(newest[0]);
      report.schema_name = newest[1];
    }
  }
  // Customers' emails and password hashes: readable by the owner only, whatever the umask.
  fs::permissions(partial.path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  // VACUUM INTO does not sync what it wrote: the copy, then its name in the directory.
  sync_path(partial.path, O_RDONLY);
  // A file made at `target` meanwhile is not replaced: link() refuses an existing name, rename() would not.
  if (::link(partial.path.c_str(), to.c_str()) != 0) {
    int why = errno;
    throw std::runtime_error("cannot create '" + target + "': " + std::strerror(why));
  }
  sync_path(directory, O_RDONLY | O_DIRECTORY);
  report.bytes = fs::file_size(to, error);
  return report;  // ~Partial removes the temporary name; `target` keeps the copy
}

}  // namespace db
