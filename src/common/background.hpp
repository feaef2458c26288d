#pragma once
// Work a request hands off to be done after its answer is sent, on one thread of its own, in order.
// The password-reset request uses it so that its answer takes the same time whether or not an account
// has the address (the lookup and the link's writes happen after it). The queue is bounded: post()
// refuses when it is full. stop() does what is queued, then joins; a job that throws is logged.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace common {

class Background {
 public:
  Background(std::string name, std::size_t capacity) : name_(std::move(name)), capacity_(capacity) {}
  ~Background() { stop(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  void start();
  // Queues the job; false (and nothing queued) when the queue is full or the thread is not running.
  bool post(std::function<void()> job);
  void stop();

 private:
  void loop();

  std::string name_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace common
