#pragma once
// A bounded pool of connections. acquire() waits (up to a timeout) for a free one; a lease returns
// its connection when it goes out of scope, or drops it when it was marked broken.

#include "common/error.hpp"
#include "db/database.hpp"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace db {

class Pool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;

  Pool(Factory factory, std::size_t max_size, std::chrono::milliseconds wait_timeout)
      : factory_(std::move(factory)), max_size_(max_size), wait_timeout_(wait_timeout) {}

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> c) : pool_(&pool), connection_(std::move(c)) {}
    Lease(Lease&& other) noexcept = default;
    ~Lease() {
      if (pool_ && connection_) pool_->give_back(std::move(connection_));
    }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }
    // The connection is unusable (lost, mid-transaction after a failure): close it instead of reusing it.
    void discard() {
      connection_.reset();
      pool_->forget();
    }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // Connections lent out right now (for the pool gauge in /metrics).
  std::size_t in_use() {
    std::lock_guard lock(mutex_);
    return open_ - idle_.size();
  }
  std::size_t max_size() const noexcept { return max_size_; }

  Lease acquire() {
    std::unique_lock lock(mutex_);
    if (!available_.wait_for(lock, wait_timeout_, [&] { return !idle_.empty() || open_ < max_size_; })) {
      throw common::Error("unavailable", "The database is busy; try again");
    }
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(c));
    }
    ++open_;
    lock.unlock();
    try {
      return Lease(*this, factory_());
    } catch (...) {
      forget();
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(c));
    }
    available_.notify_one();
  }
  void forget() {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    available_.notify_one();
  }

  Factory factory_;
  std::size_t max_size_;
  std::chrono::milliseconds wait_timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace db
