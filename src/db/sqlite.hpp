#pragma once
// SQLite behind the db interface: WAL, foreign keys, a busy timeout, one writer at a time.

#include "db/database.hpp"
#include "db/pool.hpp"

#include <mutex>
#include <string>

namespace db {

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const Options& options);
  Dialect dialect() const noexcept override { return Dialect::sqlite; }
  bool ping() noexcept override;
  PoolStats pool_stats() noexcept override { return {pool_.in_use(), pool_.max_size()}; }

 protected:
  void run_transaction(const Body& body) override;
  void run_read(const Body& body) override;

 private:
  std::string path_;
  Options options_;
  Pool pool_;
  // SQLite allows one writer; taking turns here is cheaper than its busy-wait loop.
  std::mutex writer_;
};

}  // namespace db
