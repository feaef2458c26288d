#include "db/backup.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
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

// The copy in the making and what SQLite may leave beside it while writing or checking it.
constexpr const char* kBeside[] = {"-journal", "-wal", "-shm"};

// What a signal removes: the copy and the files beside it, as paths made before the handlers are
// installed (a handler may only call async-signal-safe functions such as unlink).
char g_removed[1 + std::size(kBeside)][4096];
struct sigaction g_previous[3];
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

void remove_partial_and_die(int number) {
  for (const auto* path : g_removed) ::unlink(path);
  ::signal(number, SIG_DFL);
  ::raise(number);
}

// `TARGET.partial`, the copy while it is made: created with mode 0600 before a byte is in it (VACUUM
// INTO fills an empty file it is given), and locked (flock) for as long as this run writes it. A
// second backup to the same target finds it locked and stops; one left by a run that was killed
// (SIGKILL, a power cut) is not locked, and the next run to the target takes it over. SIGINT, SIGTERM
// and SIGHUP remove it on the way out; so does any error.
class Partial {
 public:
  explicit Partial(const fs::path& target) : path_(fs::absolute(target.string() + ".partial")) {
    for (int attempt = 0; fd_ < 0; ++attempt) {
      int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0) fail("cannot create '" + path_.string() + "'");
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        throw std::runtime_error("another backup to '" + target.string() + "' is running (it holds '" +
                                 path_.string() + "')");
      }
      struct stat opened {}, named {};
      // Locked, but the run that held it may have finished and removed the name meanwhile: only a
      // file still under the name will do.
      if (::fstat(fd, &opened) == 0 && ::stat(path_.c_str(), &named) == 0 && opened.st_ino == named.st_ino &&
          opened.st_dev == named.st_dev) {
        fd_ = fd;
      } else {
        ::close(fd);
        if (attempt == 3) throw std::runtime_error("'" + path_.string() + "' keeps changing: is another backup running?");
      }
    }
    if (::ftruncate(fd_, 0) != 0 || ::fchmod(fd_, 0600) != 0) fail("cannot prepare '" + path_.string() + "'");
    remove_beside();
    std::snprintf(g_removed[0], sizeof g_removed[0], "%s", path_.c_str());
    for (std::size_t i = 0; i < std::size(kBeside); ++i) {
      std::snprintf(g_removed[i + 1], sizeof g_removed[i + 1], "%s%s", path_.c_str(), kBeside[i]);
    }
    struct sigaction action {};
    action.sa_handler = remove_partial_and_die;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &action, &g_previous[i]);
  }
  ~Partial() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
    for (auto* path : g_removed) path[0] = '\0';
    ::unlink(path_.c_str());  // after a link, `target` keeps the copy
    remove_beside();
    ::close(fd_);  // the lock goes last
  }
  Partial(const Partial&) = delete;
  Partial& operator=(const Partial&) = delete;

  const fs::path& path() const { return path_; }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
  }
  void remove_beside() const {
    for (const char* suffix : kBeside) ::unlink((path_.string() + suffix).c_str());
  }

  fs::path path_;
  int fd_ = -1;
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
  Partial partial(to);
  // One read transaction: what had committed when it began, whatever commits while it copies. The
  // path is absolute, so SQLite never reads a name such as "file:x.db" as a URI.
  const std::string into = partial.path().string();
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
  // VACUUM INTO does not sync what it wrote: the copy, then its name in the directory.
  sync_path(partial.path(), O_RDONLY);
  // A file made at `target` meanwhile is not replaced: link() refuses an existing name, rename() would not.
  if (::link(partial.path().c_str(), to.c_str()) != 0) {
    int why = errno;
    throw std::runtime_error("cannot create '" + target + "': " + std::strerror(why));
  }
  sync_path(directory, O_RDONLY | O_DIRECTORY);
  report.bytes = fs::file_size(to, error);
  return report;  // ~Partial removes the temporary name; `target` keeps the copy
}

}  // namespace db
