#pragma once
// SQLite behind the db interface: WAL, foreign keys, a busy timeout, and one writer thread that
// commits write transactions in groups (see run_transaction).

#include "db/database.hpp"
#include "db/pool.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace db {

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const Options& options);
  ~SqliteDatabase() override;
  Dialect dialect() const noexcept override { return Dialect::sqlite; }
  bool ping() noexcept override;
  PoolStats pool_stats() noexcept override { return {pool_.in_use(), pool_.max_size()}; }
  std::optional<std::uint64_t> write_generation() const noexcept override {
    return commits_.load(std::memory_order_acquire);
  }

  bool reads_locally() const noexcept override { return true; }
  bool queues_writes() const noexcept override { return true; }
  // The body runs on the writer thread in a savepoint of the next group.
  void submit(Body body, Done done) override;

 protected:
  void run_transaction(const Body& body) override;
  void run_read(const Body& body) override;

 private:
  struct Job;
  void write_loop();
  void commit_group(std::deque<Job*>& group);
  static int wal_committed(void* self, sqlite3* handle, const char* database, int pages);
  void checkpoint_loop();

  std::string path_;
  Options options_;
  Pool pool_;  // read connections

  // Checkpoints (copying the WAL back into the database file, with an fsync) run on a thread of
  // their own, asked for by the writer once the WAL passes 1000 pages: the writer would otherwise
  // stop every few hundred commits to do it, and every order waiting on it with it. Past 4000 pages
  // (writes that never pause starve it) the writer checkpoints itself (wal_committed).
  std::unique_ptr<Connection> checkpoint_connection_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wanted_;
  bool checkpoint_due_ = false;
  bool checkpoint_stopping_ = false;
  std::thread checkpointer_;

  // SQLite allows one writer at a time. Rather than taking turns (each transaction paying for its
  // own commit), callers hand their transaction bodies to one writer thread, which runs everything
  // waiting in one transaction, each body in its own savepoint, and commits once.
  std::unique_ptr<Connection> writer_connection_;
  std::mutex queue_mutex_;
  std::condition_variable queued_;
  std::atomic<std::uint64_t> commits_{0};  // groups the writer has finished (committed or not)
  std::deque<Job*> queue_;  // submit()'s jobs are owned by the queue, transaction()'s by their callers
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace db
