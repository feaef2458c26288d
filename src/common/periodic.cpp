#include "common/periodic.hpp"

#include <spdlog/spdlog.h>

namespace common {

Periodic::Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
                   std::chrono::milliseconds gather)
    : name_(std::move(name)), interval_(interval), gather_(gather), task_(std::move(task)) {}

void Periodic::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Periodic::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Only the first wake of a run notifies: under load a wake comes with every order, and each notify
// during the gather window would wake the thread (a futex call and a context switch) to no purpose.
void Periodic::wake() {
  {
    std::lock_guard lock(mutex_);
    if (woken_) return;
    woken_ = true;
  }
  wake_.notify_all();
}

void Periodic::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      task_();
    } catch (const std::exception& e) {
      spdlog::error("{} failed: {} (trying again in {} ms)", name_, e.what(), interval_.count());
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
    if (woken_ && gather_.count() > 0) wake_.wait_for(lock, gather_, [this] { return stopping_; });
    woken_ = false;
  }
}

}  // namespace common
