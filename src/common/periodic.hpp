#pragma once
// A background task run every `interval` on its own thread (the reservation sweeper, the payment
// reconciler, the webhook sender). A run that throws is logged and tried again at the next tick; stop()
// returns promptly; wake() runs the task now instead of at the next tick, or, with a `gather` window,
// that much later: the wakes that come meanwhile (one per order under load) then cost one run.
// The thread carries the task's name (its first 15 bytes: what `top -H` and /proc show). With
// Priority::idle it runs in Linux's SCHED_IDLE class, on CPU time no other thread wants.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace common {

class Periodic {
 public:
  enum class Priority { normal, idle };

  Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
           std::chrono::milliseconds gather = std::chrono::milliseconds(0), Priority priority = Priority::normal);
  ~Periodic() { stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void start();  // runs the task once right away, then every interval
  void stop();
  void wake();

 private:
  void loop();
  void prepare_thread() const;  // its name and scheduling class

  std::string name_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds gather_;
  Priority priority_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace common
