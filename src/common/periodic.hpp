#pragma once
// A background task run every `interval` on its own thread (the reservation sweeper, the payment
// reconciler, the webhook sender). A run that throws is logged and tried again at the next tick; stop()
// returns promptly; wake() runs the task now instead of at the next tick, or, with a `gather` window,
// that much later: the wakes that come meanwhile (one per order under load) then cost one run.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace common {

class Periodic {
 public:
  Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
           std::chrono::milliseconds gather = std::chrono::milliseconds(0));
  ~Periodic() { stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void start();  // runs the task once right away, then every interval
  void stop();
  void wake();

 private:
  void loop();

  std::string name_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds gather_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace common
