#pragma once
// PostgreSQL behind the db interface (libpq): a pool of connections, statements prepared once per
// connection, READ COMMITTED write transactions and REPEATABLE READ read-only snapshots. A lost
// connection is dropped from the pool and the next request opens a new one, so orderd rides out a
// database restart; while the database is down requests get 503 "unavailable".

#include "db/database.hpp"
#include "db/pool.hpp"

#include <string>

namespace db {

class PostgresDatabase final : public Database {
 public:
  // url: a libpq connection URI, postgresql://user:password@host:port/dbname?sslmode=...
  PostgresDatabase(std::string url, const Options& options);
  Dialect dialect() const noexcept override { return Dialect::postgres; }
  bool ping() noexcept override;
  PoolStats pool_stats() noexcept override { return {pool_.in_use(), pool_.max_size()}; }

 protected:
  void run_transaction(const Body& body) override;
  void run_read(const Body& body) override;

 private:
  void run(std::string_view begin, const Body& body);

  std::string url_;
  Options options_;
  Pool pool_;
};

}  // namespace db
