#pragma once
// SQLite behind the db interface: WAL, foreign keys, a busy timeout, and one writer thread that
// commits write transactions in groups (see run_transaction).

#include "db/database.hpp"
#include "db/pool.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace db {

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const Options& options);
  ~SqliteDatabase() override;
  Dialect dialect() const noexcept override { return Dialect::sqlite; }
  bool ping() noexcept override;
  PoolStats pool_stats() noexcept override { return {pool_.in_use(), pool_.max_size()}; }

 protected:
  void run_transaction(const Body& body) override;
  void run_read(const Body& body) override;

 private:
  struct Job;
  void write_loop();
  void commit_group(std::deque<Job*>& group);

  std::string path_;
  Options options_;
  Pool pool_;  // read connections

  // SQLite allows one writer at a time. Rather than taking turns (each transaction paying for its
  // own commit), callers hand their transaction bodies to one writer thread, which runs everything
  // waiting in one transaction, each body in its own savepoint, and commits once.
  std::unique_ptr<Connection> writer_connection_;
  std::mutex queue_mutex_;
  std::condition_variable queued_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace db
