#include "common/periodic.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include <pthread.h>
#include <sched.h>

namespace common {

Periodic::Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
                   std::chrono::milliseconds gather, Priority priority)
    : name_(std::move(name)), interval_(interval), gather_(gather), priority_(priority), task_(std::move(task)) {}

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

// Lowering a thread's own priority needs no privilege. Where it is refused all the same (a seccomp
// profile), the task runs at normal priority, which is correct, only less kind to the requests.
// The name comes last, so a thread seen by its name already has its class.
void Periodic::prepare_thread() const {
  sched_param none{};
  if (priority_ == Priority::idle && sched_setscheduler(0, SCHED_IDLE, &none) != 0) {
    spdlog::warn("{}: the idle scheduling class was refused ({}); running at normal priority", name_,
                 std::strerror(errno));
  }
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
}

void Periodic::loop() {
  prepare_thread();
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
