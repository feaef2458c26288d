#include "common/background.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace common {

void Background::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

bool Background::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (!running_ || stopping_ || jobs_.size() >= capacity_) return false;
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

void Background::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    stopping_ = true;
  }
  ready_.notify_one();
  thread_.join();
  std::lock_guard lock(mutex_);
  running_ = false;
}

void Background::loop() {
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything queued is done
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("{}: a job failed: {}", name_, e.what());
    }
  }
}

}  // namespace common
