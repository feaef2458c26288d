#pragma once
// PostgreSQL behind the db interface (libpq): a pool of connections, statements prepared once per
// connection, READ COMMITTED write transactions and REPEATABLE READ read-only snapshots. A lost
// connection is dropped from the pool and the next request opens a new one, so orderd rides out a
// database restart; while the database is down requests get 503 "unavailable".
//
// Kept catalogue pages across nodes: from the first write_generation() on, a listener thread holds
// one more connection that LISTENs on orderd_catalog, which migration 014's trigger notifies with
// every change to products, by any node, in the changing transaction (so only once it commits). Each
// notification, and each write transaction this process commits, moves the write generation on;
// while the listener is not connected there is no generation (nothing is kept), and every
// (re)connection moves it on too, since notifications sent while nobody listened are lost.
// The same listener hears orderd_webhook_endpoints (migration 015) for endpoints_generation().
// A catalogue notification from one of this node's own pooled connections is not counted: the
// commit that sent it moved the generation already, and counting its echo would retire every page
// twice per order.

#include "common/log_limit.hpp"
#include "db/database.hpp"
#include "db/pool.hpp"

#include <atomic>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace db {

// The server process ids (PQbackendPID) of this node's pooled connections: the listener tells its own
// node's catalogue notifications, whose commits already moved the generation, from other nodes'.
class Backends {
 public:
  void add(int pid);
  void remove(int pid);
  bool contains(int pid) const;

 private:
  mutable std::mutex mutex_;
  std::vector<int> pids_;  // at most the pool's size
};

class PostgresDatabase final : public Database {
 public:
  // url: a libpq connection URI, postgresql://user:password@host:port/dbname?sslmode=...
  PostgresDatabase(std::string url, const Options& options);
  Dialect dialect() const noexcept override { return Dialect::postgres; }
  bool ping() noexcept override;
  PoolStats pool_stats() noexcept override { return {pool_.in_use(), pool_.max_size()}; }
  // Starts the listener on the first call; nullopt while it is not connected.
  std::optional<std::uint64_t> write_generation() const noexcept override;
  std::optional<std::uint64_t> endpoints_generation() const noexcept override;
  ListenerStats listener_stats() noexcept override;

 protected:
  void run_transaction(const Body& body) override;
  void run_read(const Body& body) override;
  void run_statement(const Body& body) override;

 private:
  void run(const char* begin, const Body& body);  // begin null: one statement, no transaction
  // The listener thread: connects, LISTENs, counts notifications, reconnects after a second.
  void listen(const std::stop_token& stop) const;
  void receive_notifications(void* connection, const std::stop_token& stop) const;
  bool start_listener() const noexcept;  // false when the thread cannot start (logged)
  std::optional<std::uint64_t> heard(const std::atomic<std::uint64_t>& count) const noexcept;

  std::string url_;
  Options options_;
  Backends backends_;  // before pool_: its connections remove themselves as they close
  common::LogLimit connect_log_{std::chrono::seconds(10)};  // before pool_, whose factory logs with it
  Pool pool_;
  mutable std::atomic<std::uint64_t> generation_{0};
  mutable std::atomic<std::uint64_t> endpoints_generation_{0};
  mutable std::atomic<bool> listening_{false};
  mutable std::atomic<std::uint64_t> notifications_{0};
  mutable std::atomic<std::uint64_t> own_notifications_{0};
  mutable std::atomic<std::uint64_t> connects_{0};
  mutable std::once_flag listener_started_;
  mutable std::jthread listener_;  // declared last: stopped and joined before the rest goes
};

}  // namespace db
